/**
 * A full disk, for real: the data dir on a small tmpfs (root only, as CI runs). A fax that
 * cannot be stored is never acked; the log says so once; /healthz reports it; the daemon stays
 * up, and once space is back the next fax is acked and stored.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { startTestDaemon, tempDir } from '../helpers/daemon.js';
import { queryAll } from '../helpers/db.js';
import { sendFax } from '../helpers/fax.js';

const root = process.getuid?.() === 0;
const mountable = root && spawnSync('mount', ['--version']).status === 0;

describe('a full disk', { skip: !mountable && 'needs root to mount a small tmpfs (CI runs as root)' }, () => {
  it('no ack for a fax that was not stored, one log line, /healthz says so, and recovery when space is back', async () => {
    const base = await tempDir();
    const data = path.join(base, 'data');
    await mkdir(data);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', data]);
    const d = await startTestDaemon({ dataDir: data, spoolDir: path.join(base, 'spool') });
    try {
      assert.ok((await sendFax(d.agiPort, d.spoolDir, '1796400000.1', { tiff: 'success-1p-name.tiff' })).acked, 'room at first');
      // Fill what is left, byte for byte, until the filesystem refuses.
      const filler = path.join(data, 'filler');
      for (let size = 4 * 1024 * 1024; size >= 4096; size = Math.floor(size / 2)) {
        await writeFile(`${filler}-${size}`, Buffer.alloc(size)).catch(() => rm(`${filler}-${size}`, { force: true }));
      }
      for (const n of [2, 3, 4]) {
        const r = await sendFax(d.agiPort, d.spoolDir, `1796400000.${n}`, { tiff: 'success-3p.tiff' });
        assert.equal(r.acked, false, `fax ${n}: no ack for a fax that is not on disk`);
      }
      assert.equal(d.lines.filter((l) => l.msg === 'store.disk_full').length, 1, 'said once, not per fax');
      const health = await request(`${d.httpUrl}/healthz`);
      assert.equal(health.statusCode, 503);
      assert.match(String(((await health.body.json()) as { problem?: string }).problem), /disk full/);

      for (const name of execFileSync('ls', [data], { encoding: 'utf8' }).split('\n').filter((f) => f.startsWith('filler'))) await rm(path.join(data, name));
      assert.ok((await sendFax(d.agiPort, d.spoolDir, '1796400000.5', { tiff: 'success-3p.tiff' })).acked, 'space is back: acked');
      assert.equal((await request(`${d.httpUrl}/healthz`)).statusCode, 200);
      const stored = queryAll<{ provider_id: string }>(data, 'SELECT provider_id FROM inbox ORDER BY provider_id').map((r) => r.provider_id);
      assert.deepEqual(stored, ['1796400000.1', '1796400000.5'], 'every acked fax stored, and only those');
    } finally {
      await d.stop();
      spawnSync('umount', [data]);
    }
  });
});
