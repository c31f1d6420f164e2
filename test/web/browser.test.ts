// A real browser (Debian chromium driven by playwright-core) against the real app on real
// MariaDB: log in for an instrument, upload files on the submission page with the progress
// bar moving, see them listed, delete one. Screenshots go under os.tmpdir().
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { BrowserContext } from 'playwright-core';
import { launchBrowser } from '../support/browser';
import { createUser, setGroup } from '../../db/accounts';
import { DEMO_CACHE, startSite, type Site } from '../jsonrpc/site';
import { sha1, sha1File } from './web-session';

let site: Site;
let browser: BrowserContext;
let work: string;
const shots = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-web-screenshots-'));

beforeAll(async () => {
  site = await startSite({ observatory: 'hst', source: DEMO_CACHE });
  await createUser(site.db, { username: 'alice', password: 'alice-password' });
  await setGroup(site.db, 'acs-team', ['acs'], ['alice']);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-browser-'));
  browser = await launchBrowser(work);
});
afterAll(async () => {
  await browser?.close();
  await site.close();
  fs.rmSync(work, { recursive: true, force: true });
});

it('logs in for an instrument, uploads with a moving progress bar, lists and deletes', async () => {
  const big = path.join(work, 'big_drk.fits');
  const small = path.join(work, 'small_drk.fits');
  fs.writeFileSync(big, randomBytes(24_000_000)); // 12 chunks: the bar has steps to show
  fs.writeFileSync(small, randomBytes(1234));
  const page = await browser.newPage();

  await page.goto(`${site.url}/batch_submit_references/`);
  expect(new URL(page.url()).pathname).toBe('/login/');
  await page.fill('input[name=username]', 'alice');
  await page.fill('input[name=password]', 'alice-password');
  await page.selectOption('select[name=instrument]', 'acs');
  await page.screenshot({ path: path.join(shots, '1-login.png') });
  await page.click('#login-form button[type=submit]');
  await page.waitForURL(`${site.url}/batch_submit_references/`);
  expect(await page.textContent('#nav-user')).toBe('alice (acs)');
  expect(await page.textContent('#lock-info')).toContain('instrument acs');
  expect(await page.$('#error_message')).toBeNull();

  // Record the bar's value on every frame while the upload runs (page code as text: the
  // tests are type-checked without the DOM library).
  await page.evaluate(`(() => {
    window.seen = [];
    const bar = document.getElementById('upload-progress');
    const tick = () => { window.seen.push(bar.value); requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
  })()`);
  await page.setInputFiles('#upload-files', [big, small]);
  await page.click('#upload-start');
  await page.waitForSelector('#ingest-files tr[data-name="small_drk.fits"]', { timeout: 30_000 });
  // A selector, not a string predicate: the pages' CSP (no eval) refuses those.
  await page.locator('#upload-status', { hasText: 'Uploaded 2 file' }).waitFor();
  await page.screenshot({ path: path.join(shots, '2-uploaded.png'), fullPage: true });
  const seen = await page.evaluate<number[]>('window.seen');
  expect(seen.some((v) => v > 0 && v < 100)).toBe(true);
  expect(Math.max(...seen)).toBe(100);

  const rows = await page.$$eval('#ingest-files tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 2).map((td) => td.textContent)));
  expect(rows).toEqual([
    ['big_drk.fits', '24000000'],
    ['small_drk.fits', '1234'],
  ]);
  const ingest = path.join(site.config.serverFiles, 'ingest', 'alice');
  expect(sha1File(path.join(ingest, 'big_drk.fits'))).toBe(sha1(fs.readFileSync(big)));
  // A reload lists them from the server.
  await page.reload();
  expect(await page.$$eval('#ingest-files tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-name')))).toEqual(['big_drk.fits', 'small_drk.fits']);

  await page.click('#ingest-files tr[data-name="big_drk.fits"] button.delete-upload');
  await page.waitForSelector('#ingest-files tr[data-name="big_drk.fits"]', { state: 'detached' });
  expect(fs.readdirSync(ingest)).toEqual(['small_drk.fits']);
  await page.screenshot({ path: path.join(shots, '3-deleted.png'), fullPage: true });

  await page.click('#nav-logout');
  await page.waitForURL(`${site.url}/`);
  expect(await site.db.models.InstrumentLock.count()).toBe(0);
  console.log(`screenshots in ${shots}`);
});
