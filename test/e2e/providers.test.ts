/** Phaxio and Sinch routes on the real daemon, driven by the provider fixtures and vectors. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { realSignature, realSignedString } from '../../src/providers/phaxio.js';
import { parseMultipart } from '../../src/providers/form-body.js';
import type { TestDaemon } from '../helpers/daemon.js';
import { queryOne } from '../helpers/db.js';
import { runCli } from '../helpers/cli.js';
import { loadHttpFixture, PROVIDERS, PROVIDER_SECRETS, type HttpFixture } from '../helpers/fixtures.js';
import { sendFixture, startFixtureDaemon } from '../helpers/fixture-daemon.js';
import { startTlsFileServer, type TlsFileServer } from '../helpers/tls-file-server.js';

const PROVIDER_FIXTURES = [
  'seed-phaxio-callback-valid',
  'seed-phaxio-callback-uppercase-signature',
  'seed-phaxio-callback-wrong-signature',
  'seed-phaxio-callback-missing-signature',
  'seed-phaxio-callback-tampered-body',
  'phaxio-v21-callback-success',
  'phaxio-v21-callback-failure',
  'phaxio-v21-callback-tampered',
  'phaxio-v21-callback-host-url',
  'seed-phaxio-inbound-json',
  'seed-phaxio-inbound-json-disallowed-host',
  'phaxio-received-multipart',
  'phaxio-received-multipart-tampered-file',
  'seed-sinch-inbound-basic-hmac',
  'seed-sinch-inbound-basic-only',
  'seed-sinch-inbound-basic-only-hmac-required',
  'seed-sinch-inbound-wrong-pass',
  'sinch-incoming-fax-multipart',
  'sinch-incoming-fax-json',
  'sinch-incoming-fax-json-no-auth',
  'sinch-fax-completed-json-files',
  'sinch-fax-completed-json-file',
];

interface Counts {
  inbox: number;
  statuses: number;
  documents: number;
}

function counts(d: TestDaemon): Counts {
  const n = (sql: string) => queryOne<{ n: number }>(d.dataDir, sql)!.n;
  return {
    inbox: n('SELECT COUNT(*) AS n FROM inbox'),
    statuses: n('SELECT COUNT(*) AS n FROM outbound_status'),
    documents: n('SELECT COUNT(*) AS n FROM inbox WHERE document_path IS NOT NULL'),
  };
}

/** Serves each `setup.http_get` of a fixture from the local TLS file host. */
function serveSetup(files: TlsFileServer, fixture: HttpFixture): void {
  const gets = (fixture as unknown as { setup?: { http_get?: Array<{ url: string; status: number; body_file: string; content_type: string }> } }).setup?.http_get ?? [];
  for (const g of gets) {
    files.routes.set(g.url, { status: g.status, body: readFileSync(path.join(PROVIDERS, 'http', g.body_file)), headers: { 'content-type': g.content_type } });
  }
}

describe('provider fixtures', () => {
  let files: TlsFileServer;
  before(async () => {
    files = await startTlsFileServer(['files.phaxio.com', 'fax.api.sinch.com']);
  });
  after(() => files.close());

  for (const name of PROVIDER_FIXTURES) {
    const fixture = loadHttpFixture(name);
    it(`${name}: ${fixture.expect.status}${fixture.expect.stored ? ', stored once' : ', nothing stored'}`, async () => {
      serveSetup(files, fixture);
      const before = files.requests.length;
      const d = await startFixtureDaemon(fixture, { overrides: { fileUrlDispatcher: files.dispatcher } });
      try {
        const first = await sendFixture(d, fixture);
        assert.equal(first.status, fixture.expect.status, JSON.stringify(first.json));
        const c = counts(d);
        if (!fixture.expect.stored) {
          assert.deepEqual(c, { inbox: 0, statuses: 0, documents: 0 }, 'nothing stored');
          assert.equal(files.requests.length, before, 'nothing fetched');
          assert.equal(typeof first.json['detail'], 'string', 'a clear message');
          return;
        }
        const rec = fixture.expect.record!;
        if (rec['kind'] === 'inbound_fax') {
          assert.equal(c.inbox, 1);
          const row = queryOne<Record<string, unknown>>(d.dataDir, 'SELECT * FROM inbox WHERE id = ?', first.json['id'])!;
          assert.equal(row['source'], rec['source']);
          assert.equal(row['provider_id'], rec['provider_fax_id']);
          assert.equal(row['from_number'], rec['from']);
          assert.equal(row['to_number'], rec['to']);
          assert.equal(row['pages'], rec['pages']);
          assert.equal(row['document_sha256'], rec['document_sha256']);
          assert.equal(row['document_type'], 'pdf');
          for (const r of files.requests.slice(before)) assert.equal(r.authorization, undefined, 'no credentials sent to a file host');
        } else {
          assert.equal(c.statuses, 1);
          const row = queryOne<Record<string, unknown>>(d.dataDir, 'SELECT * FROM outbound_status')!;
          assert.equal(row['job_id'], rec['job_id']);
          assert.equal(row['provider'], rec['provider']);
          assert.equal(row['provider_fax_id'], rec['provider_fax_id']);
          assert.equal(row['provider_status'], rec['provider_status']);
          assert.equal(row['pages'], rec['pages']);
          if (rec['error_type']) assert.equal(row['error_type'], rec['error_type']);
          if (rec['error_code']) assert.equal(row['error_code'], String(rec['error_code']));
        }
        const fetched = files.requests.length;
        const again = await sendFixture(d, fixture);
        assert.deepEqual(again, first, 'a replay gets the same answer');
        assert.deepEqual(counts(d), c, 'and stores nothing new');
        assert.equal(files.requests.length, fetched, 'and fetches nothing again');
      } finally {
        await d.stop();
      }
    });
  }

  it('a file_url off the allow-list (169.254.169.254) is refused without any connection', async () => {
    const fixture = loadHttpFixture('seed-phaxio-inbound-json-disallowed-host');
    const d = await startFixtureDaemon(fixture, { overrides: { fileUrlDispatcher: files.dispatcher } });
    try {
      const connections = files.connections.length;
      const res = await sendFixture(d, fixture);
      assert.equal(res.status, 400);
      assert.match(String(res.json['detail']), /169\.254\.169\.254 is not on the allow-list/);
      assert.equal(files.connections.length, connections);
    } finally {
      await d.stop();
    }
  });

  it('a file host that fails gets 502 (the provider retries), stores nothing, and no placeholder', async () => {
    const fixture = loadHttpFixture('seed-phaxio-inbound-json');
    const d = await startFixtureDaemon(fixture, { overrides: { fileUrlDispatcher: files.dispatcher } });
    try {
      files.routes.set('https://files.phaxio.com/faxes/98765/file.pdf', { status: 503, body: Buffer.from('busy') });
      assert.equal((await sendFixture(d, fixture)).status, 502);
      files.routes.set('https://files.phaxio.com/faxes/98765/file.pdf', { status: 200, body: Buffer.from('<html>not a pdf</html>') });
      assert.equal((await sendFixture(d, fixture)).status, 502);
      files.routes.set('https://files.phaxio.com/faxes/98765/file.pdf', { status: 302, body: Buffer.alloc(0), headers: { location: 'https://evil.example.net/x.pdf' } });
      assert.equal((await sendFixture(d, fixture)).status, 502);
      assert.deepEqual(counts(d), { inbox: 0, statuses: 0, documents: 0 });
      assert.ok(!files.connections.includes('evil.example.net'), 'the redirect off the list was not followed');
      serveSetup(files, fixture);
      const ok = await sendFixture(d, fixture);
      assert.equal(ok.status, 200, 'the provider retry then succeeds');
      assert.equal(counts(d).documents, 1);
    } finally {
      await d.stop();
    }
  });
});

describe('Phaxio real-scheme signature', () => {
  it('reproduces every published and computed vector', () => {
    const vectors = (JSON.parse(readFileSync(path.join(PROVIDERS, 'vectors.json'), 'utf8')).vectors as Array<Record<string, unknown>>).filter(
      (v) => v['scheme'] === 'phaxio-hmac-sha1',
    );
    assert.ok(vectors.length >= 7);
    for (const v of vectors) {
      const files = (v['files'] as Array<{ name: string; content?: string; content_file?: string }>).map(
        (f) => [f.name, f.content_file ? readFileSync(path.join(PROVIDERS, f.content_file)) : Buffer.from(f.content ?? '', 'utf8')] as const,
      );
      const signed = realSignedString(v['url'] as string, v['params'] as Array<[string, string]>, files);
      assert.equal(signed, v['signed_string'], String(v['name']));
      assert.equal(realSignature(v['secret'] as string, signed), v['expected'], String(v['name']));
    }
  });

  it('the multipart parser keeps parts byte-exact and in order', () => {
    const f = loadHttpFixture('phaxio-received-multipart');
    const form = parseMultipart(f.body, 'PhaxioWebhookBoundary7d3f2a9c');
    assert.deepEqual(form.fields.map((x) => x.name), ['direction', 'is_test', 'success', 'event_type', 'fax']);
    assert.equal(form.files[0]!.name, 'file');
    assert.ok(form.files[0]!.bytes.equals(readFileSync(path.join(PROVIDERS, 'docs', 'two-page.pdf'))));
  });
});

describe('provider routes, rules that span fixtures', () => {
  it('a late in-progress event never overwrites a final status', async () => {
    const success = loadHttpFixture('seed-phaxio-callback-valid');
    const d = await startFixtureDaemon(success, { env: {} });
    try {
      const { createHmac } = await import('node:crypto');
      const post = async (body: string) =>
        sendFixture(d, success, {
          body: Buffer.from(body),
          headers: { 'X-Phaxio-Signature': createHmac('sha256', PROVIDER_SECRETS['PHAXIO_API_SECRET']!).update(body).digest('hex') },
        });
      assert.equal((await sendFixture(d, success)).status, 200);
      assert.equal((await post('fax[id]=123456&fax[status]=inprogress&fax[num_pages]=1')).status, 200);
      const job = await request(`${d.httpUrl}/jobs/job_123`, { headers: { authorization: 'Bearer test-api-key' } });
      const body = (await job.body.json()) as { status: string; history: unknown[] };
      assert.equal(body.status, 'success');
      assert.equal(body.history.length, 2, 'both events are kept in the history');

      // The same, for a sysadmin at the shell.
      const list = await runCli(['jobs', 'list', '--data-dir', d.dataDir]);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /job_123\s+success\s+phaxio\s+123456/);
      assert.match((await runCli(['jobs', 'list', '--status', 'failed', '--data-dir', d.dataDir])).stdout, /no outbound fax statuses with status failed/);
      const show = await runCli(['jobs', 'show', 'job_123', '--data-dir', d.dataDir]);
      assert.match(show.stdout, /^job job_123: success \(phaxio, fax 123456\)/);
      assert.equal(show.stdout.trim().split('\n').length, 4, 'a title, a header and the two events');
      const json = JSON.parse((await runCli(['jobs', 'show', 'job_123', '--json', '--data-dir', d.dataDir])).stdout) as { history: unknown[] };
      assert.equal(json.history.length, 2);
      assert.equal((await runCli(['jobs', 'show', 'nope', '--data-dir', d.dataDir])).code, 1);
    } finally {
      await d.stop();
    }
  });

  it('with no credential configured, the Sinch and Phaxio routes refuse (fail closed) and say why at start', async () => {
    const fixture = loadHttpFixture('sinch-incoming-fax-json');
    const d = await startFixtureDaemon({ ...fixture, config: [] });
    try {
      const res = await sendFixture(d, fixture);
      assert.equal(res.status, 401);
      assert.match(String(res.json['detail']), /no credential configured/);
      assert.ok(d.lines.some((l) => l.msg === 'config.sinch_route_refusing'));
      assert.ok(d.lines.some((l) => l.msg === 'config.phaxio_routes_refusing'));
      const phaxio = loadHttpFixture('seed-phaxio-callback-valid');
      assert.equal((await sendFixture(d, phaxio)).status, 401);
      assert.equal(counts(d).inbox + counts(d).statuses, 0);
    } finally {
      await d.stop();
    }
  });

  it('several secrets at once: the previous Phaxio secret still verifies during a rotation', async () => {
    const fixture = loadHttpFixture('seed-phaxio-callback-valid');
    const d = await startFixtureDaemon(
      { ...fixture, config: ['PHAXIO_CALLBACK_TOKEN', 'FAXBRIDGE_PUBLIC_URL'] },
      { env: { PHAXIO_API_SECRET: 'the-new-secret', PHAXIO_API_SECRET_PREVIOUS: PROVIDER_SECRETS['PHAXIO_API_SECRET'] } },
    );
    try {
      assert.equal((await sendFixture(d, fixture)).status, 200);
    } finally {
      await d.stop();
    }
  });

  it('a 20 MB body is refused with 413 before it is read into memory, and nothing is stored', async () => {
    const fixture = loadHttpFixture('sinch-incoming-fax-json');
    const d = await startFixtureDaemon(fixture);
    try {
      const rssBefore = process.memoryUsage().rss;
      const big = Buffer.alloc(20 * 1024 * 1024, 0x20);
      const res = await sendFixture(d, fixture, { body: big });
      assert.equal(res.status, 413);
      assert.equal(res.json['detail'], 'Request body is too large');
      const grown = process.memoryUsage().rss - rssBefore;
      assert.ok(grown < 64 * 1024 * 1024, `rss grew by ${grown} bytes`);
      assert.equal(counts(d).inbox, 0);
    } finally {
      await d.stop();
    }
  });

  it('malformed bodies with valid credentials are 400 with a message', async () => {
    const fixture = loadHttpFixture('sinch-incoming-fax-json');
    const d = await startFixtureDaemon(fixture);
    try {
      for (const body of ['{oops', '[]', '{"event":"INCOMING_FAX","fax":{"direction":"INBOUND"}}', '{"nothing":"here"}']) {
        const res = await sendFixture(d, fixture, { body: Buffer.from(body) });
        assert.equal(res.status, 400, body);
        assert.ok(String(res.json['detail']).length > 5);
      }
      const unknown = await sendFixture(d, fixture, { body: Buffer.from('{"event":"FAX_PAGE_DONE","fax":{"id":"x"}}') });
      assert.deepEqual(unknown, { status: 200, json: { status: 'ignored' } }, 'unknown events are answered 200 so retries stop');
      assert.equal(counts(d).inbox, 0);
    } finally {
      await d.stop();
    }
  });
});
