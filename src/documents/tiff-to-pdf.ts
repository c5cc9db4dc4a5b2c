/**
 * Fax TIFF to PDF without decoding: each page's CCITT data goes into the PDF as it is, behind
 * /CCITTFaxDecode. Only the bit order may change (FillOrder 2 is LSB-first; PDF wants MSB-first).
 * The page size comes from the resolution, so 204x98 and 204x196 dpi pages both come out A4/Letter.
 */
import { inspectTiff, type TiffPage } from './tiff.js';

export class PdfConversionError extends Error {
  override name = 'PdfConversionError';
}

const REVERSED = (() => {
  const t = new Uint8Array(256);
  for (let i = 0; i < 256; i++) {
    let r = 0;
    for (let b = 0; b < 8; b++) if (i & (1 << b)) r |= 1 << (7 - b);
    t[i] = r;
  }
  return t;
})();

export function tiffToPdf(tiff: Buffer): Buffer {
  const info = inspectTiff(tiff);
  if (info.pages.length === 0) throw new PdfConversionError('the TIFF has no pages');
  const images = info.pages.map((page, i) => pageImage(tiff, page, i + 1));

  const objects: Buffer[] = [];
  const add = (body: Buffer | string): number => {
    objects.push(typeof body === 'string' ? Buffer.from(body, 'latin1') : body);
    return objects.length;
  };
  const catalog = add(''); // filled once the page tree's number is known
  const pagesRef = add('');
  const kids: number[] = [];
  for (const img of images) {
    const image = add(
      Buffer.concat([
        Buffer.from(
          `<< /Type /XObject /Subtype /Image /Width ${img.width} /Height ${img.height} /ColorSpace /DeviceGray ` +
            `/BitsPerComponent 1 /Filter /CCITTFaxDecode /DecodeParms << ${img.decodeParms} >>${img.decode} /Length ${img.data.length} >>\nstream\n`,
          'latin1',
        ),
        img.data,
        Buffer.from('\nendstream', 'latin1'),
      ]),
    );
    const ops = `q ${fmt(img.widthPt)} 0 0 ${fmt(img.heightPt)} 0 0 cm /Im0 Do Q`;
    const content = add(`<< /Length ${ops.length} >>\nstream\n${ops}\nendstream`);
    kids.push(
      add(
        `<< /Type /Page /Parent ${pagesRef} 0 R /MediaBox [0 0 ${fmt(img.widthPt)} ${fmt(img.heightPt)}] ` +
          `/Resources << /XObject << /Im0 ${image} 0 R >> /ProcSet [/PDF /ImageB] >> /Contents ${content} 0 R >>`,
      ),
    );
  }
  objects[catalog - 1] = Buffer.from(`<< /Type /Catalog /Pages ${pagesRef} 0 R >>`, 'latin1');
  objects[pagesRef - 1] = Buffer.from(`<< /Type /Pages /Kids [${kids.map((k) => `${k} 0 R`).join(' ')}] /Count ${kids.length} >>`, 'latin1');

  const parts: Buffer[] = [Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let offset = parts[0]!.length;
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(offset);
    const chunk = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`, 'latin1'), body, Buffer.from('\nendobj\n', 'latin1')]);
    parts.push(chunk);
    offset += chunk.length;
  });
  const xref =
    `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n` +
    offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('') +
    `trailer\n<< /Size ${objects.length + 1} /Root ${catalog} 0 R >>\nstartxref\n${offset}\n%%EOF\n`;
  parts.push(Buffer.from(xref, 'latin1'));
  return Buffer.concat(parts);
}

interface PageImage {
  width: number;
  height: number;
  widthPt: number;
  heightPt: number;
  decodeParms: string;
  decode: string;
  data: Buffer;
}

function pageImage(tiff: Buffer, page: TiffPage, n: number): PageImage {
  const { width, height, compression } = page;
  if (!width || !height) throw new PdfConversionError(`page ${n}: no image size`);
  let k: number;
  let extra = '';
  if (compression === 3) {
    k = page.group3Options & 1 ? 4 : 0; // bit 0: 2-D coding
    // T.4 fill bits only pad before each EOL, and a decoder that reads EOLs skips them; telling
    // it /EncodedByteAlign as well makes pdf.js (the web inbox) misread 2-D lines.
    extra = ' /EndOfLine true';
  } else if (compression === 4) {
    k = -1;
  } else if (compression === 2) {
    k = 0;
    extra = ' /EncodedByteAlign true';
  } else {
    throw new PdfConversionError(`page ${n}: compression ${compression} is not CCITT fax data`);
  }
  if (compression === 4 && page.stripOffsets.length > 1) {
    throw new PdfConversionError(`page ${n}: multi-strip Group 4 data cannot be passed through`);
  }
  const strips = page.stripOffsets.map((o, i) => tiff.subarray(o, o + (page.stripByteCounts[i] ?? 0)));
  let data = Buffer.concat(strips);
  if (page.fillOrder === 2) data = Buffer.from(data.map((b) => REVERSED[b]!));
  const xDpi = page.xDpi ?? 204;
  const yDpi = page.yDpi ?? (height > 1500 ? 196 : 98);
  return {
    width,
    height,
    widthPt: (width / xDpi) * 72,
    heightPt: (height / yDpi) * 72,
    decodeParms: `/K ${k} /Columns ${width} /Rows ${height} /BlackIs1 false${extra}`,
    // Min-is-black pages (photometric 1) are rare in fax, but invert correctly if they come.
    decode: page.photometric === 1 ? ' /Decode [1 0]' : '',
    data,
  };
}

function fmt(n: number): string {
  return (Math.round(n * 100) / 100).toString();
}
