/** Hostile and broken input on the inbox API: clear 4xx answers, never a 500, nothing lost. */
import assert from 'node:assert/strict';
import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { startTestDaemon } from '../helpers/daemon.js';
import { queryAll } from '../helpers/db.js';
import { sendFax } from '../helpers/fax.js';
import { ASTERISK } from '../helpers/fixtures.js';
import { tiffHeader, writeIfd } from '../helpers/tiff-builder.js';

const KEY = { authorization: 'Bearer hostile-test-key' };

describe('inbox API under bad input', () => {
  it('repeated query parameters are a 400, not a 500', async () => {
    const d = await startTestDaemon({ env: { FAXBRIDGE_API_KEY: 'hostile-test-key' } });
    try {
      for (const q of ['to=1&to=2', 'status=failed&status=received', 'cursor=a&cursor=b', 'limit=1&limit=2']) {
        const res = await request(`${d.httpUrl}/inbound?${q}`, { headers: KEY });
        assert.equal(res.statusCode, 400, q);
        assert.match(String(((await res.body.json()) as { detail: string }).detail), /may be given once/);
      }
    } finally {
      await d.stop();
    }
  });

  it('a stored TIFF that cannot become a PDF is a clear 422 (its TIFF still downloads), and a document changed on disk after the ack is refused (409)', async () => {
    const d = await startTestDaemon({ env: { FAXBRIDGE_API_KEY: 'hostile-test-key' } });
    try {
      // An uncompressed TIFF: a valid page, but not CCITT data a PDF can carry as it is.
      const raw = tiffHeader(8 + 2 + 5 * 12 + 4 + 16);
      writeIfd(raw, 8, [[256, 3, [8]], [257, 3, [8]], [259, 3, [1]], [273, 4, [raw.length - 16]], [279, 4, [16]]]);
      await writeFile(path.join(d.spoolDir, '1796200000.1.tiff'), raw);
      assert.ok((await sendFax(d.agiPort, d.spoolDir, '1796200000.1', { variables: { FAXFILE: path.join(d.spoolDir, '1796200000.1.tiff') } })).acked);
      const [bad] = queryAll<{ id: string }>(d.dataDir, 'SELECT id FROM inbox WHERE provider_id = ?', '1796200000.1');
      const pdf = await request(`${d.httpUrl}/inbound/${bad!.id}/pdf`, { headers: KEY });
      assert.equal(pdf.statusCode, 422);
      assert.match(String(((await pdf.body.json()) as { detail: string }).detail), /cannot be converted to PDF.*download the TIFF/);
      const tiff = await request(`${d.httpUrl}/inbound/${bad!.id}/tiff`, { headers: KEY });
      assert.equal(tiff.statusCode, 200);
      assert.ok(Buffer.from(await tiff.body.arrayBuffer()).equals(raw));

      // The kept document is a hard link to the spool file: writing that file in place reaches it.
      const spoolFile = path.join(d.spoolDir, '1796200000.2.tiff');
      assert.ok((await sendFax(d.agiPort, d.spoolDir, '1796200000.2', { tiff: 'success-1p-name.tiff' })).acked);
      const [good] = queryAll<{ id: string; document_path: string }>(d.dataDir, 'SELECT id, document_path FROM inbox WHERE provider_id = ?', '1796200000.2');
      await copyFile(path.join(ASTERISK, 'tiffs', 'success-3p.tiff'), spoolFile); // same inode, other bytes
      for (const as of ['tiff', 'pdf']) {
        const res = await request(`${d.httpUrl}/inbound/${good!.id}/${as}`, { headers: KEY });
        assert.equal(res.statusCode, 409, as);
        assert.match(String(((await res.body.json()) as { detail: string }).detail), /changed on disk after it was stored/);
      }
    } finally {
      await d.stop();
    }
  });
});
