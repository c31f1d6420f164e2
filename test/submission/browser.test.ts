// Acceptance (issue #6): a real browser (Debian chromium driven by playwright-core) against
// the real web app (in this process), the real worker process on its own namespace and task
// queue, MariaDB with the real HST rules and a real SMTP receiver. Logs in for COS, uploads
// two real references, submits, watches the progress page, confirms, sees the delivery and
// its catalog, runs the archive simulator and sees the files archived and the mails; then a
// cancel and a certify failure. Screenshots of every step go under os.tmpdir().
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { launchBrowser } from '../support/browser';
import { archiveStep } from '../../ops/commands/archive-sim';
import { cosVariant, startWebSubmissionSite, waitForProgress, type SubmissionSite, type WebSubmissionSite } from './harness';

jest.setTimeout(300_000);

let site: SubmissionSite;
let running: WebSubmissionSite | undefined;
let url: string;
let work: string;
let browser: BrowserContext;
const shots = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-submission-screenshots-'));

beforeAll(async () => {
  running = await startWebSubmissionSite('browser', 'browser-test-secret');
  ({ site, web: { url } } = running);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-submission-browser-'));
  browser = await launchBrowser(work);
});

afterAll(async () => {
  await browser?.close();
  await running?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
  console.log(`screenshots in ${shots}`);
});

/** cosVariant(tag, name) written under its own name in a folder of its own, for the browser to upload. */
function reference(name: string, tag: string): string {
  const bytes = cosVariant(tag, name);
  const dir = fs.mkdtempSync(path.join(work, 'upload-'));
  fs.writeFileSync(path.join(dir, name), bytes);
  return path.join(dir, name);
}

async function login(page: Page): Promise<void> {
  await page.goto(`${url}/batch_submit_references/`);
  await page.waitForURL(/\/login\//);
  await page.fill('input[name=username]', 'alice');
  await page.fill('input[name=password]', 'alice-password');
  await page.selectOption('select[name=instrument]', 'cos');
  await page.click('#login-form button[type=submit]');
  await page.waitForURL(`${url}/batch_submit_references/`);
  expect(await page.textContent('#nav-user')).toBe('alice (cos)');
}

async function uploadAndSubmit(page: Page, files: string[], description: string): Promise<string> {
  await page.setInputFiles('#upload-files', files);
  await page.click('#upload-start');
  // Selectors, not string predicates: the pages' CSP (no eval) refuses those.
  await page.locator('#upload-status', { hasText: `Uploaded ${files.length} file` }).waitFor();
  for (const f of files) await page.waitForSelector(`#ingest-files tr[data-name="${path.basename(f)}"]`);
  await page.fill('textarea[name=description]', description);
  await page.click('#submit-form button[type=submit]');
  await page.waitForURL(/\/display_result\/[A-Za-z0-9:.-]+$/);
  return page.url().split('/').pop()!;
}

/** Waits for the page (its script reloads it on each change) to show a status. */
async function waitForStatus(page: Page, statuses: string[], timeout = 120_000): Promise<string> {
  const exactly = new RegExp(`^(?:${statuses.join('|')})$`); // statuses are plain words
  await page.locator('#submission-status', { hasText: exactly }).waitFor({ timeout });
  return (await page.textContent('#submission-status'))!;
}

it('logs in, uploads two references, submits, watches, confirms, sees the delivery, the archive and the mails', async () => {
  const page = await browser.newPage();
  await login(page);
  await page.screenshot({ path: path.join(shots, '01-logged-in.png'), fullPage: true });
  const files = [reference('z1r1943el_1dx.fits', '+'), reference('z1q2219el_2zx.fits', '+')];
  const resultsId = await uploadAndSubmit(page, files, 'COS 1dx and 2zx from the browser');
  await page.screenshot({ path: path.join(shots, '02-submitted.png'), fullPage: true });

  expect(await waitForStatus(page, ['ready', 'failed'])).toBe('ready');
  await page.screenshot({ path: path.join(shots, '03-ready.png'), fullPage: true });
  const ready = (await site.service.progress(resultsId))!;
  for (const f of ready.files) expect(await page.textContent(`[id="${f.uploadedAs}"]`)).toBe(f.name);
  expect(await page.$$eval('#steps tr[id^=step-]', (rows) => rows.map((r) => r.id))).toEqual(ready.steps.map((s) => `step-${s.name}`));
  expect(await page.textContent('#step-certify .step-status')).toBe('done');
  // The page lists new mappings rmaps first, then imaps, then the pmap, each level by name.
  const level = (name: string) => ['.rmap', '.imap', '.pmap'].indexOf(name.slice(-5));
  const shown = ready.generated.map((g) => g.name).sort((a, b) => level(a) - level(b) || (a < b ? -1 : 1));
  expect(await page.$$eval('#generated tr td:first-child', (tds) => tds.map((td) => td.textContent))).toEqual(shown);
  expect(await page.textContent('#files')).toContain('0 errors');
  expect(await page.getAttribute('#workflow-link', 'href')).toBe(`http://localhost:8233/namespaces/${site.env.TEMPORAL_NAMESPACE}/workflows/${ready.workflowId}`);
  expect(await page.$$eval('#messages li', (lis) => lis.length)).toBeGreaterThan(3);

  await page.click('#button-confirm');
  await page.waitForURL(`${url}/display_result/${resultsId}`);
  expect(await page.$('#error_message')).toBeNull();
  expect(await page.$('#nav-login')).not.toBeNull(); // confirming logs the submitter out, as the original
  await page.waitForSelector('#delivery-catalog', { timeout: 60_000 });
  const catalog = (await page.textContent('#delivery-catalog'))!;
  expect(await page.textContent('#delivery-state')).toBe('delivered');
  await page.screenshot({ path: path.join(shots, '04-delivered.png'), fullPage: true });
  const delivered = (await site.service.progress(resultsId))!;
  expect(delivered.disposition).toBe('confirmed');
  const names = [...delivered.files.map((f) => f.name!), ...delivered.generated.map((g) => g.name)].sort();
  expect(names.filter((n) => n.endsWith('.fits'))).toHaveLength(2);
  const deliveries = path.join(site.config.serverFiles, 'deliveries');
  expect(fs.readdirSync(deliveries).sort()).toEqual([catalog, ...names].sort());
  expect(fs.readFileSync(path.join(site.config.serverFiles, 'catalogs', catalog), 'utf8')).toBe(names.join('\n') + '\n');
  expect(await site.db.models.CatalogFile.count({ where: { name: names, state: 'delivered' } })).toBe(names.length);

  // The archive simulator, a pass at a time, until the page shows the files archived.
  const sim = setInterval(() => archiveStep(deliveries), 500);
  try {
    expect(await waitForStatus(page, ['archived', 'failed'])).toBe('archived');
  } finally {
    clearInterval(sim);
  }
  await page.screenshot({ path: path.join(shots, '05-archived.png'), fullPage: true });
  expect(await page.textContent('#delivery-state')).toBe('archived');
  expect(await site.db.models.CatalogFile.count({ where: { name: names, state: 'archived' } })).toBe(names.length);
  expect(fs.readdirSync(deliveries)).toEqual([]);

  const mine = () => site.mails.filter((m) => m.text.includes(resultsId));
  const deadline = Date.now() + 30_000;
  while (mine().length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(mine().map((m) => m.subject.split(':')[0])).toEqual(['READY', 'CONFIRMED', 'DELIVERED', 'ARCHIVED'].map((k) => `CRDS HST submission ${k}`));
  await page.close();
});

it('cancels a ready submission from its page', async () => {
  const page = await browser.newPage();
  await login(page);
  const resultsId = await uploadAndSubmit(page, [reference('z1r1943el_1dx.fits', '*')], 'COS 1dx to cancel');
  expect(await waitForStatus(page, ['ready', 'failed'])).toBe('ready');
  const before = await site.db.models.CatalogFile.count();
  await page.click('#button-cancel');
  await page.waitForURL(`${url}/display_result/${resultsId}`);
  expect(await waitForStatus(page, ['cancelled'])).toBe('cancelled');
  await page.screenshot({ path: path.join(shots, '06-cancelled.png'), fullPage: true });
  expect(await page.$('#decide-form')).toBeNull();
  expect(await site.db.models.CatalogFile.count()).toBeLessThan(before); // its new names are gone
  expect(await page.textContent('#nav-user')).toBe('alice (cos)'); // cancel keeps the session
  expect((await waitForProgress(site, resultsId, (p) => p.status === 'cancelled')).disposition).toBe('cancelled');
  await page.close();
});

it('shows a certify failure with its reason', async () => {
  const page = await browser.newPage();
  await page.goto(`${url}/batch_submit_references/`);
  // The cancelled submission's upload is still in the ingest folder: delete it on the page.
  await page.click('#ingest-files tr[data-name="z1r1943el_1dx.fits"] button.delete-upload');
  await page.waitForSelector('#ingest-files tr[data-name="z1r1943el_1dx.fits"]', { state: 'detached' });
  const broken = reference('z1r1943el_1dx.fits', '=');
  fs.truncateSync(broken, 5000); // cut inside its first header
  const resultsId = await uploadAndSubmit(page, [broken], 'COS 1dx that fails certify');
  expect(await waitForStatus(page, ['failed', 'ready'])).toBe('failed');
  expect(await page.textContent('#submission-reason')).toBe("Certify failed for 'z1r1943el_1dx.fits'.");
  expect(await page.textContent('#step-certify .step-status')).toBe('failed');
  expect(await page.$$eval('#files li.finding-error', (lis) => lis.length)).toBeGreaterThan(0);
  expect(await page.$('#decide-form')).toBeNull();
  await page.screenshot({ path: path.join(shots, '07-certify-failed.png'), fullPage: true });
  expect(resultsId).toBeTruthy();
  await page.close();
});
