import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { inspectTiff, isTiffMagic, NotTiffError } from '../../src/documents/tiff.js';
import { ASTERISK, PROVIDERS } from '../helpers/fixtures.js';
import { tiffHeader, writeIfd, type Entry } from '../helpers/tiff-builder.js';

const tiffs = path.join(ASTERISK, 'tiffs');

describe('TIFF inspection', () => {
  it('counts the pages of every real received TIFF exactly as tiffinfo does', () => {
    const files = readdirSync(tiffs).filter((f) => f.endsWith('.tiff') && !f.includes('transient'));
    assert.ok(files.length >= 20);
    for (const f of files) {
      const info = inspectTiff(readFileSync(path.join(tiffs, f)));
      const tiffinfo = readFileSync(path.join(tiffs, f.replace(/\.tiff$/, '.tiffinfo.txt')), 'utf8');
      const expected = (tiffinfo.match(/=== TIFF directory/g) ?? []).length;
      assert.equal(info.pages.length, expected, f);
      assert.equal(info.problem, undefined, f);
    }
  });

  it('reads what a PDF writer needs: G3 2-D, FillOrder 2, 1728 wide, 204x196 dpi, one strip', () => {
    const info = inspectTiff(readFileSync(path.join(tiffs, 'success-3p.tiff')));
    assert.equal(info.byteOrder, 'II');
    for (const p of info.pages) {
      assert.deepEqual(
        { w: p.width, h: p.height, c: p.compression, f: p.fillOrder, g3: p.group3Options, x: p.xDpi, y: p.yDpi, strips: p.stripOffsets.length },
        { w: 1728, h: 2188, c: 3, f: 2, g3: 5, x: 204, y: 196, strips: 1 },
      );
    }
  });

  it('the four real cases: complete, partial, zero pages, no file', () => {
    assert.equal(inspectTiff(readFileSync(path.join(tiffs, 'success-3p.tiff'))).pages.length, 3);
    assert.equal(inspectTiff(readFileSync(path.join(tiffs, 'failed-partial.tiff'))).pages.length, 1);
    const zero = readFileSync(path.join(tiffs, 'zero-page.transient.tiff'));
    assert.equal(zero.length, 8);
    assert.deepEqual(inspectTiff(zero).pages, []);
    // "no file" is the resolver's case: see fax-received.test.ts.
  });

  it('a truncated file keeps the pages before the damage and says what is wrong', () => {
    const whole = readFileSync(path.join(tiffs, 'success-3p.tiff'));
    for (const cut of [9, 100, 40_000, 70_000, 98_000]) {
      const info = inspectTiff(whole.subarray(0, cut));
      assert.ok(info.problem?.startsWith('truncated'), `cut at ${cut}: ${info.problem}`);
      assert.ok(info.pages.length < 3);
    }
  });

  it('refuses what is not a TIFF, and survives random garbage after a valid magic', () => {
    assert.throws(() => inspectTiff(Buffer.from('%PDF-1.4\n')), NotTiffError);
    assert.throws(() => inspectTiff(Buffer.alloc(0)), NotTiffError);
    assert.ok(!isTiffMagic(readFileSync(path.join(PROVIDERS, 'docs', 'one-page.pdf'))));
    for (let i = 0; i < 500; i++) {
      const junk = Buffer.concat([Buffer.from('II*\0'), Buffer.from(Array.from({ length: 64 }, () => Math.floor(Math.random() * 256)))]);
      inspectTiff(junk); // must not throw anything but NotTiffError, and must end
    }
    const loop = Buffer.from('II*\0\x08\0\0\0\0\0\x08\0\0\0', 'binary');
    assert.match(inspectTiff(loop).problem ?? '', /loop/);
  });

  it('a FillOrder stored as 5 BYTE values at the very end of the file is read, not a RangeError', () => {
    const buf = tiffHeader(8 + 2 + 4 * 12 + 4 + 5);
    const end = buf.length - 5;
    writeIfd(buf, 8, [[256, 3, [1728]], [257, 3, [1]], [259, 3, [3]], [266, 1, 5, end, true]]);
    buf.fill(2, end);
    const info = inspectTiff(buf);
    assert.equal(info.pages.length, 1);
    assert.equal(info.pages[0]!.fillOrder, 2);
  });

  it('200 directories sharing one 64Ki-entry strip table are read once each, within the file', () => {
    const strips = 65_536;
    const tableAt = 8;
    const firstIfd = tableAt + strips * 4 * 2;
    const ifdSize = 2 + 5 * 12 + 4;
    const buf = tiffHeader(firstIfd + 200 * ifdSize, firstIfd);
    for (let i = 0; i < strips; i++) buf.writeUInt32LE(8, tableAt + i * 4); // every strip at offset 8, 1 byte long
    for (let i = 0; i < strips; i++) buf.writeUInt32LE(1, tableAt + strips * 4 + i * 4);
    for (let p = 0; p < 200; p++) {
      const entries: Entry[] = [[256, 3, [1728]], [257, 3, [1]], [259, 3, [4]], [273, 4, strips, tableAt, true], [279, 4, strips, tableAt + strips * 4, true]];
      writeIfd(buf, firstIfd + p * ifdSize, entries, p < 199 ? firstIfd + (p + 1) * ifdSize : 0);
    }
    const info = inspectTiff(buf);
    assert.equal(info.pages.length, 200);
    assert.equal(info.problem, undefined);
    assert.equal(info.pages[0]!.stripOffsets, info.pages[199]!.stripOffsets, 'one table in memory, shared');
  });
});

