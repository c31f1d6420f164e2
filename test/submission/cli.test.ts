// Acceptance (issue #6 item 5): the real `crds submit` from the command line, with
// --monitor-processing --wait-for-completion --autoconfirm, against the real web app (in this
// process, on a free port), the real worker process (workers/main.ts) on its own namespace
// and task queue, real MariaDB with the real HST rules, and a real SMTP receiver; then
// `ops/manage archive-sim` plays the archive pipeline until the files are archived.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultContexts } from '../../db/catalog';
import { errorDiv, WebSession } from '../web/web-session';
import { REPO_ROOT } from '../support/paths';
import { CONTEXT, cosVariant, runClientAsAlice, startWebSubmissionSite, waitForProgress, type SubmissionSite, type WebSubmissionSite } from './harness';
import { ls } from './exactly-once';

jest.setTimeout(300_000);

let site: SubmissionSite;
let running: WebSubmissionSite | undefined;
let url: string;
let work: string;

beforeAll(async () => {
  // The app's own service on its Temporal link; only the archive poll is shortened.
  running = await startWebSubmissionSite('cli', 'cli-test-secret', { host: 'localhost' });
  ({ site, web: { url } } = running);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-cli-submit-'));
});

afterAll(async () => {
  await running?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

it('crds submit --monitor-processing --wait-for-completion --autoconfirm delivers, and the archive simulator archives', async () => {
  // A real COS 1dx reference with one header character changed (new SHA-1), under its own name.
  const file = path.join(work, 'z1r1943el_1dx.fits');
  fs.writeFileSync(file, cosVariant('+'));
  const cache = path.join(work, 'client-cache');
  fs.mkdirSync(cache);

  const args = [
    'submit', '--files', file, '--description', 'COS 1dx test delivery', '--creator', 'Alice Test', '--change-level', 'SEVERE',
    '--wipe-existing-files', '--monitor-processing', '--wait-for-completion', '--autoconfirm',
  ];
  const output = await runClientAsAlice(url, cache, args);
  const completed = /COMPLETED: (http:\/\/localhost:\d+\/display_result\/([A-Za-z0-9:.-]+))\s/.exec(output);
  expect(completed).not.toBeNull();
  expect(completed![1]).toBe(`${url}/display_result/${completed![2]}`);
  const resultsId = completed![2]!;
  expect(output).toMatch(/>> Certif/);

  // The confirm went through: delivered (or further), alice's lock released, the ingest folder emptied.
  const delivered = await waitForProgress(site, resultsId, (x) => !!x.delivery || x.status === 'failed' || x.status === 'cancelled');
  expect(delivered.disposition).toBe('confirmed');
  expect(delivered.decidedBy ?? 'alice').toBe('alice');
  const names = [...delivered.files.map((f) => f.name!), ...delivered.generated.map((g) => g.name)].sort();
  expect(names).toHaveLength(4);
  expect(names.filter((n) => n.endsWith('.fits'))).toHaveLength(1);
  expect(names.filter((n) => n.endsWith('.fits'))[0]).not.toBe('z1r1943el_1dx.fits'); // auto-renamed
  const catalog = delivered.delivery!.catalog;
  const deliveries = path.join(site.config.serverFiles, 'deliveries');
  expect(ls(deliveries)).toEqual([catalog, ...names].sort());
  expect(fs.readFileSync(path.join(site.config.serverFiles, 'catalogs', catalog), 'utf8')).toBe(names.join('\n') + '\n');
  for (const n of names) expect(fs.statSync(path.join(deliveries, n)).nlink).toBeGreaterThanOrEqual(2);
  expect(await site.db.models.CatalogFile.count({ where: { name: names, state: 'delivered' } })).toBe(names.length);
  expect((await defaultContexts(site.db)).edit).toBe(delivered.context.newContext);
  expect(delivered.context.derivedFrom).toBe(CONTEXT);
  expect(await site.db.models.InstrumentLock.count({ where: { username: 'alice' } })).toBe(0);
  expect(ls(site.ingest('alice'))).toEqual([]);

  // The result page the client read: only for the submitter (their group, superusers) once
  // logged in; the new names under the ids it looks for, a csrftoken.
  const reference = names.find((n) => n.endsWith('.fits'))!;
  const anonymous = await fetch(`${url}/display_result/${resultsId}`, { redirect: 'manual' });
  expect(anonymous.status).toBe(302);
  expect(anonymous.headers.get('location')).toBe(`/login/?next=${encodeURIComponent(`/authenticated_result/${resultsId}`)}`);
  const web = new WebSession(url);
  await web.login('alice', 'alice-password', 'cos');
  const page = await web.get(`/display_result/${resultsId}`);
  expect(page.status).toBe(200);
  expect(page.setCookies.has('csrftoken')).toBe(true);
  const html = page.text;
  expect(html).toContain(`<span id="z1r1943el_1dx.fits"><a href="/get/${reference}">${reference}</a></span>`);
  expect(html).toContain(`<span id="${CONTEXT}"><a href="/get/${delivered.context.newContext}">${delivered.context.newContext}</a></span>`);
  expect(html).not.toContain('id="error_message"');
  const json = await web.get(`/submission/${resultsId}/progress.json`);
  expect(json.json<{ submissionId: string }>().submissionId).toBe(resultsId);
  expect((await fetch(`${url}/submission/${resultsId}/progress.json`)).status).toBe(403);
  expect((await web.get('/display_result/no-such-submission')).status).toBe(404);
  expect((await web.get('/submission/no-such-submission/progress.json')).status).toBe(404);

  // A second confirm, as the client would post it: refused in the error div it reports.
  const again = await web.post('/submit_confirm_pipeline/', { results_id: resultsId, button: 'confirm' });
  expect(again.status).toBe(200);
  expect(errorDiv(again.text)).toMatch(/^ERROR: .*already confirmed/);
  const unknown = await web.post('/submit_confirm_pipeline/', { results_id: resultsId, button: 'maybe' });
  expect(errorDiv(unknown.text)).toBe("ERROR: Unknown button 'maybe': use confirm, cancel or force.");
  expect((await web.get('/logout/')).status).toBe(302);
  expect(await site.db.models.InstrumentLock.count({ where: { username: 'alice' } })).toBe(0);

  // The archive pipeline's part, by the real maintenance command.
  const sim = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'ops/manage.ts'), 'archive-sim', '--loop', '--interval', '300'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...site.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let simOutput = '';
  sim.stdout.on('data', (d: Buffer) => (simOutput += d.toString()));
  sim.stderr.on('data', (d: Buffer) => (simOutput += d.toString()));
  try {
    const archived = await waitForProgress(site, resultsId, (x) => x.status === 'archived' || x.status === 'failed', 120_000);
    expect(archived.status).toBe('archived');
    expect(archived.steps.every((s) => s.status === 'done')).toBe(true);
  } finally {
    sim.kill('SIGTERM');
    await new Promise((resolve) => sim.once('exit', resolve));
  }
  expect(simOutput).toContain(`${catalog}: submitted`);
  expect(simOutput).toContain(`${catalog}: archived`);
  expect(await site.db.models.CatalogFile.count({ where: { name: names, state: 'archived' } })).toBe(names.length);
  expect(ls(deliveries)).toEqual([]);

  // Mails to alice and the list: ready, confirmed, delivered, archived.
  const mine = () => site.mails.filter((m) => m.text.includes(resultsId));
  const deadline = Date.now() + 30_000;
  while (mine().length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(mine().map((m) => m.subject.split(':')[0])).toEqual(['READY', 'CONFIRMED', 'DELIVERED', 'ARCHIVED'].map((k) => `CRDS HST submission ${k}`));
  for (const m of mine()) expect(m.to.sort()).toEqual(['alice@test.example', 'datamng@test.example']);
});
