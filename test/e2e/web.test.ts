/**
 * The web inbox in a real browser: Debian's chromium driven by puppeteer-core (never a
 * downloaded browser), against a real daemon that received faxes through the replayed Asterisk
 * session, a Sinch webhook and AGI sessions with standard and superfine TIFFs.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { request } from 'undici';
import { runCli } from '../helpers/cli.js';
import { eventually, type TestDaemon } from '../helpers/daemon.js';
import { queryAll } from '../helpers/db.js';
import { replaySession } from '../helpers/fake-asterisk.js';
import { sendFax } from '../helpers/fax.js';
import { sendFixture, startFixtureDaemon } from '../helpers/fixture-daemon.js';
import { ASTERISK, loadHttpFixture, loadSession, withSpool } from '../helpers/fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const PASSWORD = 'front desk passphrase';
const skip = !existsSync(CHROMIUM) && 'Debian chromium is not installed (.ci/run installs it)';

describe('web inbox in a browser', { skip }, () => {
  let d: TestDaemon;
  let browser: Browser;
  let base: string;
  const ids: Record<string, string> = {};
  const idOf = (uniqueOrProvider: string) => queryAll<{ id: string }>(d.dataDir, 'SELECT id FROM inbox WHERE provider_id = ?', uniqueOrProvider)[0]!.id;

  before(async () => {
    const sinch = loadHttpFixture('sinch-incoming-fax-multipart');
    d = await startFixtureDaemon(sinch, { env: { FAXBRIDGE_API_KEY: 'web-test-key' } });
    base = d.httpUrl;
    const session = loadSession('success-3p');
    await copyFile(path.join(ASTERISK, session.tiff!), withSpool(session.faxfile, d.spoolDir));
    assert.equal((await replaySession(d.agiPort, session, d.spoolDir)).mismatch, null);
    ids['asterisk'] = idOf(session.call.uniqueid);
    assert.equal((await sendFixture(d, sinch)).status, 200);
    ids['sinch'] = queryAll<{ id: string }>(d.dataDir, "SELECT id FROM inbox WHERE source = 'sinch'")[0]!.id;
    assert.ok((await sendFax(d.agiPort, d.spoolDir, '1796000100.1', { tiff: '../tiffs-extra/received-standard-2p-from-g3.tiff', variables: { FAXBRIDGE_TO: '15550001111' } })).acked);
    ids['standard'] = idOf('1796000100.1');
    assert.ok((await sendFax(d.agiPort, d.spoolDir, '1796000100.2', { tiff: '../tiffs-extra/received-superfine-1p-from-g4.tiff', variables: { FAXBRIDGE_TO: '15550001111' } })).acked);
    ids['superfine'] = idOf('1796000100.2');
    for (const [name, dids] of [['desk', undefined], ['limited', '15550001111']] as const) {
      const r = await runCli(['user', 'add', name, '--password-stdin', '--data-dir', d.dataDir, ...(dids ? ['--dids', dids] : [])], {}, 30_000, PASSWORD);
      assert.equal(r.code, 0, r.stderr);
    }
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      userDataDir: await mkdtemp(path.join(os.tmpdir(), 'fxb-chromium-')),
    });
  });

  after(async () => {
    await browser?.close();
    await d?.stop();
  });

  async function login(user: string, password = PASSWORD): Promise<Page> {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    await page.goto(`${base}/login`);
    await page.type('input[name=username]', user);
    await page.type('input[name=password]', password);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    return page;
  }

  /** Rendered pixels of a canvas: how many are dark, and how tall it is for its width. */
  async function pixels(page: Page, selector: string) {
    await page.waitForSelector(`${selector}[data-rendered="1"]`, { timeout: 20_000 });
    return page.$eval(selector, (c) => {
      const canvas = c as unknown as { width: number; height: number; getContext(t: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } };
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let dark = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i]! < 128) dark++;
      return { dark: dark / (data.length / 4), ratio: canvas.height / canvas.width };
    });
  }

  it('refuses a wrong password with one generic message, and rate-limits repeated attempts', async () => {
    const page = await login('desk', 'wrong password!');
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.match(await page.$eval('.error', (e) => e.textContent ?? ''), /^Wrong user name or password\.$/);
    const unknown = await login('nobody', 'whatever it is');
    assert.match(await unknown.$eval('.error', (e) => e.textContent ?? ''), /^Wrong user name or password\.$/);
    let status = 0;
    for (let i = 0; i < 12 && status !== 429; i++) {
      const res = await request(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=attacked&password=guess' });
      status = res.statusCode;
      await res.body.dump();
    }
    assert.equal(status, 429, 'the per-user limit kicks in');
  });

  it('lists the Asterisk and the Sinch fax with their numbers and pages; thumbnails and pages render, in proportion', async () => {
    const page = await login('desk');
    const rows = await page.$$eval('tr[data-fax-id]', (trs) => trs.map((tr) => ({ id: (tr as unknown as { dataset: Record<string, string> }).dataset['faxId'], text: tr.textContent ?? '', unread: tr.classList.contains('unread') })));
    const asterisk = rows.find((r) => r.id === ids['asterisk'])!;
    assert.match(asterisk.text, /15551230001[\s\S]*Fax Sender 1[\s\S]*15559871001[\s\S]*\b3\b[\s\S]*Received/);
    assert.ok(asterisk.unread);
    assert.ok(rows.some((r) => r.id === ids['sinch']));
    assert.match(await page.title(), /^\(4\) Faxes/);
    const thumb = await pixels(page, `tr[data-fax-id="${ids['asterisk']}"] canvas.thumbnail`);
    assert.ok(thumb.dark > 0.005 && thumb.dark < 0.6, `thumbnail not blank: ${thumb.dark}`);

    for (const [key, pages] of [['asterisk', 3], ['standard', 2], ['superfine', 1], ['sinch', 1]] as const) {
      await page.goto(`${base}/fax/${ids[key]}`);
      assert.equal((await page.$$('canvas.page')).length, pages, key);
      for (let n = 1; n <= pages; n++) {
        const p = await pixels(page, `canvas.page[data-page="${n}"]`);
        assert.ok(p.dark > 0.002 && p.dark < 0.6, `${key} page ${n} is not blank: ${p.dark}`);
        // A fax page is letter/A4-shaped whatever its resolution: a standard page is not squashed.
        assert.ok(p.ratio > 1.2 && p.ratio < 1.45, `${key} page ${n} proportions ${p.ratio}`);
      }
    }
  });

  it('downloads the PDF the API serves, marks read and unread, and shows a new fax without a reload', async () => {
    const page = await login('desk');
    await page.goto(`${base}/fax/${ids['asterisk']}`);
    const cookies = await page.browserContext().cookies();
    const session = cookies.find((c) => c.name === 'faxbridge_session')!;
    assert.ok(session.httpOnly && session.sameSite === 'Strict');
    const web = await request(`${base}/web/fax/${ids['asterisk']}/pdf?download=1`, { headers: { cookie: `faxbridge_session=${session.value}` } });
    assert.match(String(web.headers['content-disposition']), /^attachment/);
    const api = await request(`${base}/inbound/${ids['asterisk']}/pdf`, { headers: { authorization: 'Bearer web-test-key' } });
    assert.ok(Buffer.from(await web.body.arrayBuffer()).equals(Buffer.from(await api.body.arrayBuffer())), 'the same bytes');

    await page.goto(`${base}/`);
    assert.equal(await page.$eval(`tr[data-fax-id="${ids['asterisk']}"]`, (tr) => tr.classList.contains('unread')), false, 'opened, so read');
    await page.goto(`${base}/fax/${ids['asterisk']}`);
    await Promise.all([page.waitForNavigation(), page.click('form[action$="/unread"] button')]);
    await page.goto(`${base}/`);
    assert.equal(await page.$eval(`tr[data-fax-id="${ids['asterisk']}"]`, (tr) => tr.classList.contains('unread')), true, 'marked unread');

    assert.ok((await sendFax(d.agiPort, d.spoolDir, '1796000100.9', { tiff: 'success-1p-name.tiff' })).acked);
    const fresh = idOf('1796000100.9');
    await page.waitForSelector(`tr[data-fax-id="${fresh}"]`, { timeout: 15_000 });
    await eventually(async () => /^\(\d+\) Faxes/.test(await page.title()), 'the title counts it');
  });

  it('a user limited to one DID cannot see, open or download another DID\'s fax', async () => {
    const page = await login('limited');
    const listed = await page.$$eval('tr[data-fax-id]', (trs) => trs.map((tr) => (tr as unknown as { dataset: Record<string, string> }).dataset['faxId']));
    assert.deepEqual(listed.sort(), [ids['standard'], ids['superfine']].sort());
    const cookie = (await page.browserContext().cookies()).find((c) => c.name === 'faxbridge_session')!.value;
    for (const url of [`/fax/${ids['asterisk']}`, `/web/fax/${ids['asterisk']}/pdf`, `/web/fax/${ids['asterisk']}/tiff`]) {
      const res = await request(`${base}${url}`, { headers: { cookie: `faxbridge_session=${cookie}` } });
      const body = Buffer.from(await res.body.arrayBuffer());
      assert.equal(res.statusCode, 404, url);
      assert.ok(!body.subarray(0, 5).toString('latin1').startsWith('%PDF') && !body.subarray(0, 2).equals(Buffer.from('II')), `${url}: no document bytes`);
    }
  });

  it('refuses a state change without the CSRF token (403), and a logged-out session no longer works', async () => {
    const page = await login('desk');
    const cookie = (await page.browserContext().cookies()).find((c) => c.name === 'faxbridge_session')!.value;
    const forged = await request(`${base}/fax/${ids['sinch']}/delete`, { method: 'POST', headers: { cookie: `faxbridge_session=${cookie}`, 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    assert.equal(forged.statusCode, 403);
    await forged.body.dump();
    assert.equal(queryAll<{ deleted_at: string | null }>(d.dataDir, 'SELECT deleted_at FROM inbox WHERE id = ?', ids['sinch'])[0]!.deleted_at, null);
    const headers = await (await request(`${base}/`, { headers: { cookie: `faxbridge_session=${cookie}` } })).headers;
    assert.match(String(headers['content-security-policy']), /script-src 'self'/);
    assert.match(String(headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.equal(headers['x-content-type-options'], 'nosniff');

    // Delete, as a person does it (the browser asks first): the record stays, marked, its pages go.
    const [sinchRow] = queryAll<{ document_path: string }>(d.dataDir, 'SELECT document_path FROM inbox WHERE id = ?', ids['sinch']);
    page.once('dialog', (dialog) => void dialog.accept());
    await page.goto(`${base}/fax/${ids['sinch']}`);
    await Promise.all([page.waitForNavigation(), page.click('form.delete button')]);
    assert.equal(new URL(page.url()).pathname, '/');
    assert.equal(await page.$(`tr[data-fax-id="${ids['sinch']}"]`), null, 'gone from the list');
    const [deleted] = queryAll<{ deleted_at: string | null; purged_at: string | null }>(d.dataDir, 'SELECT deleted_at, purged_at FROM inbox WHERE id = ?', ids['sinch']);
    assert.ok(deleted!.deleted_at && deleted!.purged_at, 'the record is kept, marked deleted');
    assert.equal(existsSync(sinchRow!.document_path), false, 'its document is removed');

    await Promise.all([page.waitForNavigation(), page.click('form.logout button')]);
    assert.equal(new URL(page.url()).pathname, '/login');
    const after = await request(`${base}/`, { headers: { cookie: `faxbridge_session=${cookie}` } });
    assert.equal(after.statusCode, 303);
    assert.equal(after.headers['location'], '/login');
    await after.body.dump();
  });
});
