/**
 * Reads the structure of a fax TIFF in-process, without decoding pixels (reference/agi.md §8).
 * Pure: bytes in, facts out. Counts directories itself; FAXPAGES is only Asterisk's opinion.
 */

export interface TiffPage {
  width: number;
  height: number;
  /** 1 none, 2 CCITT RLE, 3 CCITT G3, 4 CCITT G4, ... */
  compression: number;
  /** 1 MSB-to-LSB (default), 2 LSB-to-MSB (spandsp). */
  fillOrder: number;
  photometric: number;
  group3Options: number;
  /** Dots per inch, converted from the resolution unit; undefined when absent. */
  xDpi: number | undefined;
  yDpi: number | undefined;
  stripOffsets: number[];
  stripByteCounts: number[];
}

export interface TiffInfo {
  byteOrder: 'II' | 'MM';
  pages: TiffPage[];
  /** Set when the directory chain is damaged; `pages` then holds what was readable before it. */
  problem?: string;
}

export class NotTiffError extends Error {
  override name = 'NotTiffError';
}

const MAX_PAGES = 10_000;
const TAG = {
  width: 256,
  height: 257,
  compression: 259,
  photometric: 262,
  fillOrder: 266,
  stripOffsets: 273,
  stripByteCounts: 279,
  xRes: 282,
  yRes: 283,
  group3Options: 292,
  resUnit: 296,
} as const;
const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8 };

export function isTiffMagic(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return false;
  return (
    (bytes[0] === 0x49 && bytes[1] === 0x49 && bytes[2] === 0x2a && bytes[3] === 0x00) ||
    (bytes[0] === 0x4d && bytes[1] === 0x4d && bytes[2] === 0x00 && bytes[3] === 0x2a)
  );
}

export function inspectTiff(bytes: Buffer): TiffInfo {
  if (bytes.length < 8 || !isTiffMagic(bytes)) throw new NotTiffError('not a TIFF file (bad magic)');
  const le = bytes[0] === 0x49;
  const byteOrder = le ? 'II' : 'MM';
  const u16 = (o: number) => (le ? bytes.readUInt16LE(o) : bytes.readUInt16BE(o));
  const u32 = (o: number) => (le ? bytes.readUInt32LE(o) : bytes.readUInt32BE(o));
  const pages: TiffPage[] = [];
  const seen = new Set<number>();
  let offset = u32(4);
  // Pages may share one strip table: each distinct table is read once, so the work and the
  // memory stay bounded by the file's size whatever the directories claim.
  const tables = new Map<string, number[]>();
  const dataEnds = new Map<number[], Map<number[], number>>();
  const dataEndOf = (offsets: number[], counts: number[]): number => {
    let byCounts = dataEnds.get(offsets);
    if (!byCounts) dataEnds.set(offsets, (byCounts = new Map()));
    let end = byCounts.get(counts);
    if (end === undefined) {
      end = 0;
      for (let i = 0; i < offsets.length; i++) end = Math.max(end, offsets[i]! + (counts[i] ?? 0));
      byCounts.set(counts, end);
    }
    return end;
  };

  while (offset !== 0) {
    if (seen.has(offset)) return { byteOrder, pages, problem: `directory loop at offset ${offset}` };
    if (pages.length >= MAX_PAGES) return { byteOrder, pages, problem: `more than ${MAX_PAGES} directories` };
    if (offset + 2 > bytes.length) return { byteOrder, pages, problem: `truncated: directory at ${offset} is past the end` };
    seen.add(offset);
    const count = u16(offset);
    const end = offset + 2 + count * 12;
    if (end + 4 > bytes.length) return { byteOrder, pages, problem: `truncated: directory at ${offset} is cut short` };

    const values = new Map<number, number[]>();
    for (let i = 0; i < count; i++) {
      const entry = offset + 2 + i * 12;
      const tag = u16(entry);
      if (!isWanted(tag)) continue;
      const type = u16(entry + 2);
      const n = u32(entry + 4);
      const size = TYPE_SIZE[type];
      if (!size || n === 0) continue;
      const total = size * n;
      const at = total <= 4 ? entry + 8 : u32(entry + 8);
      if (at + total > bytes.length) return { byteOrder, pages, problem: `truncated: tag ${tag} points past the end` };
      const key = `${type}:${n}:${at}`;
      let table = tables.get(key);
      if (!table) tables.set(key, (table = readValues(type, n, at, bytes, u16, u32)));
      values.set(tag, table);
    }
    const page = toPage(values);
    const dataEnd = dataEndOf(page.stripOffsets, page.stripByteCounts);
    if (dataEnd > bytes.length) return { byteOrder, pages, problem: `truncated: page ${pages.length + 1} image data is cut short` };
    pages.push(page);
    offset = u32(end);
  }
  return { byteOrder, pages };
}

function isWanted(tag: number): boolean {
  return (Object.values(TAG) as number[]).includes(tag);
}

function readValues(type: number, n: number, at: number, bytes: Buffer, u16: (o: number) => number, u32: (o: number) => number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    if (type === 3) out.push(u16(at + i * 2));
    else if (type === 4) out.push(u32(at + i * 4));
    else if (type === 5) {
      const den = u32(at + i * 8 + 4);
      out.push(den === 0 ? 0 : u32(at + i * 8) / den);
    } else if (type === 1 || type === 7) out.push(bytes[at + i]!);
    else return out;
  }
  return out;
}

function toPage(v: Map<number, number[]>): TiffPage {
  const one = (tag: number, fallback: number) => v.get(tag)?.[0] ?? fallback;
  const unit = one(TAG.resUnit, 2);
  const toDpi = (tag: number): number | undefined => {
    const r = v.get(tag)?.[0];
    if (r === undefined || r === 0) return undefined;
    return unit === 3 ? Math.round(r * 2.54) : Math.round(r);
  };
  return {
    width: one(TAG.width, 0),
    height: one(TAG.height, 0),
    compression: one(TAG.compression, 1),
    fillOrder: one(TAG.fillOrder, 1),
    photometric: one(TAG.photometric, 0),
    group3Options: one(TAG.group3Options, 0),
    xDpi: toDpi(TAG.xRes),
    yDpi: toDpi(TAG.yRes),
    stripOffsets: v.get(TAG.stripOffsets) ?? [],
    stripByteCounts: v.get(TAG.stripByteCounts) ?? [],
  };
}
