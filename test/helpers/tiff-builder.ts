/**
 * Hand-made little-endian TIFFs for hostile-input tests: any tags, any types, any layout.
 * Entries: [tag, type, values] or [tag, type, count, offset] for a value stored elsewhere.
 */
export type Entry = [tag: number, type: number, values: number[]] | [tag: number, type: number, count: number, at: number, external: true];

const SIZE: Record<number, number> = { 1: 1, 3: 2, 4: 4 };

/** One directory at `ifdAt`, pointing at `next`; values of 4 bytes or less are inline. */
export function writeIfd(buf: Buffer, ifdAt: number, entries: Entry[], next = 0): void {
  buf.writeUInt16LE(entries.length, ifdAt);
  entries.forEach((e, i) => {
    const at = ifdAt + 2 + i * 12;
    buf.writeUInt16LE(e[0], at);
    buf.writeUInt16LE(e[1], at + 2);
    if (e.length === 5) {
      buf.writeUInt32LE(e[2], at + 4);
      buf.writeUInt32LE(e[3], at + 8);
      return;
    }
    const [, type, values] = e;
    buf.writeUInt32LE(values.length, at + 4);
    const size = SIZE[type]!;
    values.forEach((v, j) => (size === 1 ? buf.writeUInt8(v, at + 8 + j) : size === 2 ? buf.writeUInt16LE(v, at + 8 + j * 2) : buf.writeUInt32LE(v, at + 8 + j * 4)));
  });
  buf.writeUInt32LE(next, ifdAt + 2 + entries.length * 12);
}

export function tiffHeader(size: number, firstIfd = 8): Buffer {
  const buf = Buffer.alloc(size);
  buf.write('II', 0, 'latin1');
  buf.writeUInt16LE(42, 2);
  buf.writeUInt32LE(firstIfd, 4);
  return buf;
}
