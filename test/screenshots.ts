/**
 * Makes the README's screenshots (docs/*.png) from a real daemon with recorded faxes, in
 * Debian's chromium: the list and the viewer, at desktop and phone width.
 *
 *   npm run screenshots
 */
import { copyFile, mkdir, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import { runCli } from './helpers/cli.js';
import { startTestDaemon } from './helpers/daemon.js';
import { queryAll } from './helpers/db.js';
import { replaySession } from './helpers/fake-asterisk.js';
import { sendFax } from './helpers/fax.js';
import { ASTERISK, FIXTURES, loadSession, withSpool } from './helpers/fixtures.js';

const docs = path.resolve(FIXTURES, '..', '..', 'docs');
const d = await startTestDaemon({ raw: { logLevel: 'warn' } });
try {
  for (const scenario of ['success-1p-name', 'success-2p-exotic-name', 'failed-partial', 'success-3p']) {
    const session = loadSession(scenario);
    if (session.tiff) await copyFile(path.join(ASTERISK, session.tiff), withSpool(session.faxfile, d.spoolDir));
    await replaySession(d.agiPort, session, d.spoolDir);
  }
  await sendFax(d.agiPort, d.spoolDir, '1796100000.1', { tiff: '../tiffs-extra/received-standard-2p-from-g3.tiff', variables: { FAXBRIDGE_TO: '15559870000' } });
  await runCli(['user', 'add', 'frontdesk', '--password-stdin', '--data-dir', d.dataDir], {}, 30_000, 'screenshot passphrase');
  const id = queryAll<{ id: string }>(d.dataDir, "SELECT id FROM inbox WHERE provider_id LIKE '1795757610.%' OR pages = 3 ORDER BY received_at DESC")[0]!.id;
  const browser = await puppeteer.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    userDataDir: await mkdtemp(path.join(os.tmpdir(), 'fxb-chromium-')),
  });
  const page = await browser.newPage();
  await page.goto(`${d.httpUrl}/login`);
  await page.type('input[name=username]', 'frontdesk');
  await page.type('input[name=password]', 'screenshot passphrase');
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  await mkdir(docs, { recursive: true });
  for (const [name, width, height] of [['desktop', 1280, 800], ['phone', 390, 844]] as const) {
    await page.setViewport({ width, height, deviceScaleFactor: name === 'phone' ? 2 : 1 });
    await page.goto(`${d.httpUrl}/`);
    await page.waitForSelector('canvas.thumbnail[data-rendered="1"]');
    await new Promise((r) => setTimeout(r, 500));
    await page.screenshot({ path: path.join(docs, `web-list-${name}.png`) });
    await page.goto(`${d.httpUrl}/fax/${id}`);
    await page.waitForSelector('canvas.page[data-page="1"][data-rendered="1"]');
    await page.screenshot({ path: path.join(docs, `web-viewer-${name}.png`) });
  }
  await browser.close();
  console.log(`wrote ${docs}/web-{list,viewer}-{desktop,phone}.png`);
} finally {
  await d.stop();
}
