import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { inspectTiff, isTiffMagic, NotTiffError } from '../../src/documents/tiff.js';
import { ASTERISK, PROVIDERS } from '../helpers/fixtures.js';

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
});
