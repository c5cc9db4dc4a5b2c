/**
 * Property tests (fast-check) on every parser that hostile bytes reach: the AGI line reader,
 * header and replies, TIFF inspection and TIFF to PDF, and the fallback marker. Each input is
 * either parsed or refused with the parser's own typed error; nothing else ever comes out.
 * FUZZ_RUNS sets the number of runs (10,000 by default; `npm run fuzz` runs 100,000).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AgiProtocolError } from '../../src/agi/errors.js';
import { buildHeader, createLineReader, createResponseParser } from '../../src/agi/protocol.js';
import { parseMarker } from '../../src/asterisk/marker.js';
import { inspectTiff, NotTiffError } from '../../src/documents/tiff.js';
import { PdfConversionError, tiffToPdf } from '../../src/documents/tiff-to-pdf.js';
import { ASTERISK, PROVIDERS, loadSession, withSpool } from '../helpers/fixtures.js';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 10_000);

function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const sorted = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const c of sorted) {
    out.push(bytes.subarray(last, c));
    last = c;
  }
  out.push(bytes.subarray(last));
  return out;
}

describe('property: the AGI line reader and header parser', () => {
  const header = Buffer.from(loadSession('success-2p-exotic-name').header_chunks.map((c) => withSpool(c, '/var/spool/asterisk/fax')).join(''));
  const expected = (() => {
    const lines = createLineReader().push(header);
    return buildHeader(lines.slice(0, lines.indexOf('')));
  })();

  it('a real header parses to the same values however it is split', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 12 }), (cuts) => {
        const reader = createLineReader();
        const lines = splitAt(header, cuts).flatMap((c) => reader.push(c));
        assert.deepEqual(buildHeader(lines.slice(0, lines.indexOf(''))), expected);
      }),
      { numRuns: RUNS },
    );
  });

  it('arbitrary bytes, split arbitrarily, give lines or the typed error, and a line is never longer than the cap', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
        const reader = createLineReader(256);
        try {
          for (const chunk of splitAt(Buffer.from(bytes), cuts)) for (const line of reader.push(chunk)) assert.ok(Buffer.byteLength(line) <= 256 * 3);
          assert.ok(reader.pending <= 256);
        } catch (err) {
          assert.ok(err instanceof AgiProtocolError, String(err));
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('arbitrary reply lines (520 blocks that never end, NULs, junk) give a value or the typed error', () => {
    const line = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.constantFrom('520-Invalid command syntax.', '520 End of proper usage.', 'HANGUP', '100 result=0 Trying...', '200 result=1 (x)', '510 Invalid', '511 Dead', '\u0000\u0000'),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 40 }), (lines) => {
        const parser = createResponseParser();
        for (const l of lines) {
          try {
            const ev = parser.push(l);
            assert.ok(['reply', 'usage', 'invalid-command', 'dead-channel', 'hangup', 'trying', 'incomplete'].includes(ev.kind));
          } catch (err) {
            assert.ok(err instanceof AgiProtocolError, String(err));
          }
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('property: TIFF inspection and TIFF to PDF', () => {
  const sources = [path.join(PROVIDERS, 'docs', 'one-page.tif'), path.join(ASTERISK, 'tiffs', 'success-1p-name.tiff')].map((f) => readFileSync(f));
  const mutation = fc.record({
    source: fc.nat({ max: sources.length - 1 }),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }),
    // Pointers rewritten: the first IFD offset, or any 4 bytes, to themselves or huge values.
    pointers: fc.array(fc.tuple(fc.nat(), fc.oneof(fc.constant(-1), fc.nat(), fc.constant(0xffffffff))), { maxLength: 3 }),
    truncate: fc.option(fc.nat(), { nil: undefined }),
  });

  it('a damaged real fax TIFF is inspected or refused with a reason; it never throws anything else', () => {
    fc.assert(
      fc.property(mutation, (m) => {
        const src = sources[m.source]!;
        let bytes = Buffer.from(src);
        for (const [at, value] of m.flips) bytes[at % bytes.length] = value;
        for (const [at, value] of m.pointers) {
          const o = at % (bytes.length - 4);
          bytes.writeUInt32LE(value === -1 ? o : value >>> 0, o);
        }
        if (m.truncate !== undefined) bytes = bytes.subarray(0, m.truncate % (bytes.length + 1));
        try {
          const info = inspectTiff(bytes);
          assert.ok(info.pages.length <= 10_000);
        } catch (err) {
          assert.ok(err instanceof NotTiffError, String(err));
          return;
        }
        try {
          const pdf = tiffToPdf(bytes);
          assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
        } catch (err) {
          assert.ok(err instanceof PdfConversionError, String(err));
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('property: the fallback marker', () => {
  const markers = ['noack-down', 'noack-down-exotic-name', 'noack-down-no-file'].map((n) => readFileSync(path.join(ASTERISK, 'markers', `${n}.pending`)));

  it('every cut and every byte flip of a real marker is "not yet" (null) or fields, never an exception', () => {
    fc.assert(
      fc.property(fc.nat({ max: markers.length - 1 }), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean(), (which, at, value, cut) => {
        const src = markers[which]!;
        const bytes = Buffer.from(src);
        if (cut) {
          const fields = parseMarker(bytes.subarray(0, at % (bytes.length + 1)));
          assert.ok(fields === null || at % (bytes.length + 1) === bytes.length);
          return;
        }
        bytes[at % bytes.length] = value;
        const fields = parseMarker(bytes);
        assert.ok(fields === null || typeof fields.uniqueid === 'string');
      }),
      { numRuns: RUNS },
    );
  });
});
