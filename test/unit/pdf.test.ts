/**
 * The in-process PDF against libtiff's own rendering: tiff2pdf then pdftoppm for the reference,
 * pdftoppm on our PDF for the candidate (poppler-utils and libtiff-tools from Debian).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { inspectTiff } from '../../src/documents/tiff.js';
import { tiffToPdf, PdfConversionError } from '../../src/documents/tiff-to-pdf.js';
import { tempDir } from '../helpers/daemon.js';
import { ASTERISK, PROVIDERS } from '../helpers/fixtures.js';

interface Gray {
  width: number;
  height: number;
  pixels: Buffer;
}

function render(pdf: string, prefix: string): Gray[] {
  execFileSync('pdftoppm', ['-r', '60', '-gray', pdf, prefix]);
  const dir = path.dirname(prefix);
  return readdirSync(dir)
    .filter((f) => f.startsWith(path.basename(prefix) + '-') && f.endsWith('.pgm'))
    .sort()
    .map((f) => parsePgm(readFileSync(path.join(dir, f))));
}

function parsePgm(buf: Buffer): Gray {
  const header = buf.subarray(0, 64).toString('latin1');
  const m = /^P5\s+(\d+)\s+(\d+)\s+255\s/.exec(header)!;
  return { width: Number(m[1]), height: Number(m[2]), pixels: buf.subarray(m[0].length) };
}

function pageCount(pdf: string): number {
  return Number(/Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [pdf], { encoding: 'utf8' }))![1]);
}

const EXTRA = ['received-standard-1p-from-g4', 'received-standard-2p-from-g3', 'received-superfine-1p-from-g4'].map((n) => path.join(ASTERISK, 'tiffs-extra', `${n}.tiff`));
const cases = [
  ...['success-3p', 'failed-partial', 'success-2p-exotic-name', 'success-1p-name', 'concurrent-01'].map((n) => path.join(ASTERISK, 'tiffs', `${n}.tiff`)),
  path.join(PROVIDERS, 'docs', 'one-page.tif'),
  ...EXTRA,
];

describe('TIFF to PDF, in-process', () => {
  for (const tiff of cases) {
    it(`${path.basename(tiff)}: same pages, near-identical pixels to libtiff's rendering`, async () => {
      const dir = await tempDir('faxbridge-pdf-');
      const ours = path.join(dir, 'ours.pdf');
      const ref = path.join(dir, 'ref.pdf');
      writeFileSync(ours, tiffToPdf(readFileSync(tiff)));
      execFileSync('tiff2pdf', ['-o', ref, tiff]);
      const pages = inspectTiff(readFileSync(tiff)).pages.length;
      assert.equal(pageCount(ours), pages);
      assert.equal(pageCount(ref), pages);
      const a = render(ours, path.join(dir, 'a'));
      const b = render(ref, path.join(dir, 'b'));
      assert.equal(a.length, pages);
      for (let p = 0; p < pages; p++) {
        assert.equal(a[p]!.width, b[p]!.width, `page ${p + 1} width`);
        assert.equal(a[p]!.height, b[p]!.height, `page ${p + 1} height`);
        let differing = 0;
        let ink = 0;
        for (let i = 0; i < a[p]!.pixels.length; i++) {
          if (Math.abs(a[p]!.pixels[i]! - b[p]!.pixels[i]!) > 64) differing++;
          if (b[p]!.pixels[i]! < 128) ink++;
        }
        assert.ok(ink > 1000, 'the reference page has content, so the comparison means something');
        assert.ok(differing / a[p]!.pixels.length < 0.005, `page ${p + 1}: ${differing} of ${a[p]!.pixels.length} pixels differ`);
      }
    });
  }

  it('standard (204x98), fine (204x196) and superfine (204x391) faxes all become the same paper size', async () => {
    const dir = await tempDir('faxbridge-pdf-');
    for (const tiff of [...EXTRA, path.join(ASTERISK, 'tiffs', 'success-3p.tiff')]) {
      const file = path.join(dir, `${path.basename(tiff)}.pdf`);
      writeFileSync(file, tiffToPdf(readFileSync(tiff)));
      const info = execFileSync('pdfinfo', [file], { encoding: 'utf8' });
      const [, w, h] = /Page size:\s+([\d.]+) x ([\d.]+) pts/.exec(info)!;
      // 1728 dots at 204 dpi is 8.47 in, and ~1100/2200/4400 lines at 98/196/391 dpi ~11 in: not squashed.
      assert.ok(Math.abs(Number(w) - 609.9) < 1, `${path.basename(tiff)} width ${w}`);
      assert.ok(Number(h) / Number(w) > 1.25 && Number(h) / Number(w) < 1.4, `${path.basename(tiff)} proportions ${h}/${w}`);
    }
  });

  it('passes the CCITT data through (no re-encoding) and refuses what has no pages', () => {
    const tiff = readFileSync(path.join(ASTERISK, 'tiffs', 'success-1p-name.tiff'));
    const pdf = tiffToPdf(tiff);
    assert.match(pdf.subarray(0, 8).toString('latin1'), /^%PDF-1\.4/);
    assert.ok(pdf.toString('latin1').includes('/Filter /CCITTFaxDecode'));
    const page = inspectTiff(tiff).pages[0]!;
    assert.ok(pdf.length < tiff.length + 2048, 'about the size of the fax data itself');
    assert.ok(pdf.toString('latin1').includes(`/Length ${page.stripByteCounts[0]}`));
    assert.throws(() => tiffToPdf(readFileSync(path.join(ASTERISK, 'tiffs', 'zero-page.transient.tiff'))), PdfConversionError);
  });
});
