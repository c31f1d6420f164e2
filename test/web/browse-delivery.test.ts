// The browse walk's last steps with a real submission (issue #14's acceptance): a COS
// reference submitted and confirmed through the real workflow (Temporal dev server, worker
// in this process, the real HST rules of the last 30 contexts), then in Chromium the recent
// activity shows the delivery, the delivery status shows its catalog moving through the
// archive states (the archive played by ops/manage archive-sim's step), and the new file's
// page follows its catalog state. Screenshots under the test's output folder.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { archiveStep } from '../../ops/commands/archive-sim';
import { launchBrowser } from '../support/browser';
import { lockFor, placeReference, realCacheSubset, request, startSubmissionSite, startWebApp, startWorkerInProcess, waitForProgress, type SubmissionSite, type WebApp } from '../submission/harness';

jest.setTimeout(300_000);

let site: SubmissionSite;
let worker: { close(): Promise<void> } | undefined;
let web: WebApp;
let browser: BrowserContext;
let work: string;
const shots = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-browse-delivery-screenshots-'));

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-browse-delivery-'));
  realCacheSubset(path.join(work, 'cache'));
  site = await startSubmissionSite('browse_delivery', { cache: path.join(work, 'cache') });
  worker = await startWorkerInProcess(site);
  web = await startWebApp(site, 'browse-delivery-secret');
  browser = await launchBrowser(work);
}, 300_000);
afterAll(async () => {
  await browser?.close();
  await web?.close();
  await worker?.close();
  await site?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

it('opens the recent activity after a real submission and sees its delivery move through the archive states', async () => {
  placeReference(site, 'alice');
  const lock = await lockFor(site, 'alice', 'cos');
  const { resultsId } = await site.service.startSubmission(request(site, 'alice', lock, 'browse-walk-1', 'browse walk: a new COS 1dx'));
  expect((await waitForProgress(site, resultsId, (x) => x.status === 'ready' || x.status === 'failed')).status).toBe('ready');
  await site.service.decide(resultsId, { action: 'confirm', username: 'alice', lock });
  const delivered = await waitForProgress(site, resultsId, (x) => !!x.delivery);
  const catalog = delivered.delivery!.catalog;
  const reference = delivered.files[0]!.name!;

  const page = await browser.newPage();
  const shot = (name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: false });
  // The recent activity: alice's submission, one record per file and one for the catalog.
  await page.goto(`${web.url}/recent_activity/`);
  await page.selectOption('select[name=user]', 'alice');
  await page.click('form.filters button');
  const activity = (await page.textContent('#activity tbody')) ?? '';
  expect(activity).toContain('browse walk: a new COS 1dx');
  expect(activity).toContain(reference);
  expect(activity).toContain(catalog);
  await shot('1-activity');

  // The delivery status, step by step as the archive takes the catalog.
  const deliveries = path.join(site.config.serverFiles, 'deliveries');
  const states: string[] = [];
  for (let step = 0; step < 4; step++) {
    await page.goto(`${web.url}/delivery_status/`);
    states.push((await page.getAttribute(`#deliveries tr[data-catalog="${catalog}"]`, 'data-state')) ?? '');
    await shot(`2-delivery-${step}`);
    archiveStep(deliveries);
  }
  expect(states).toEqual(['delivered', 'submitted', 'archiving', 'archived']);

  // The workflow sees the archive's answer (it polls the catalog) and the file's page follows.
  const deadline = Date.now() + 60_000;
  let state = '';
  while (Date.now() < deadline) {
    await page.goto(`${web.url}/browse/${reference}`);
    state = (await page.textContent('#file-fields tr:has(th:text-is("state")) td')) ?? '';
    if (state === 'archived') break;
    await new Promise((r) => setTimeout(r, 300));
  }
  expect(state).toBe('archived');
  await shot('3-file-archived');
  await page.close();
  console.log(`screenshots in ${shots}`);
});
