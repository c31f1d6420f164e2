// What a submitter reviews before confirming, on the real Temporal dev server, MariaDB with
// the real HST rules, a worker and the real web app: certify's group check (two references
// that select identically stop the submission, the finding shown in the progress, jpoll and
// the result page), and the ready page's rule differences of every new mapping and its
// collisions with another submission made from the same parents (not yet confirmed, then
// delivered).
import * as fs from 'node:fs';
import { createUser, setGroup } from '../../db/accounts';
import { WebSession } from '../web/web-session';
import { lockFor, placeCosVariant, request, startSubmissionSite, startWebApp, startWorkerInProcess, waitForProgress, type SubmissionSite, type WebApp } from './harness';

jest.setTimeout(300_000);

let site: SubmissionSite;
let worker: { close(): Promise<void> } | undefined;
let web: WebApp | undefined;
let url: string;
/** alice's logged-in session: result pages are the submitter's (and their group's). */
let reader: WebSession;

beforeAll(async () => {
  site = await startSubmissionSite('review');
  worker = await startWorkerInProcess(site);
  web = await startWebApp(site, 'review-test-secret-0123456789abcdef', { service: site.service });
  url = web.url;
  // The pages are read by a COS teammate without a lock: alice's own session ends each time
  // her submissions take the cos lock again (sessions end with the lock they were opened with).
  await createUser(site.db, { username: 'carol', email: 'carol@test.example', password: 'carol-password' });
  await setGroup(site.db, 'cos-team', ['cos'], ['alice', 'carol']);
  reader = new WebSession(url);
  expect((await reader.login('carol', 'carol-password')).status).toBe(302);
});

afterAll(async () => {
  await web?.close();
  await worker?.close();
  await site?.close();
});

const page = async (resultsId: string): Promise<string> => {
  const res = await reader.get(`/display_result/${resultsId}`);
  expect(res.status).toBe(200);
  return res.text;
};

/** The text of the element with `id`, tags removed and blanks collapsed. */
function section(html: string, id: string, tag = 'table'): string {
  const at = html.indexOf(`id="${id}"`);
  if (at < 0) return '';
  const end = html.indexOf(`</${tag}>`, at);
  return html.slice(at, end).replace(/<[^>]+>/g, ' ').replace(/&#39;/g, "'").replace(/\s+/g, ' ');
}

it("stops a submission whose references fail certify's group check, with the finding in the progress, jpoll and the result page", async () => {
  fs.rmSync(site.ingest('alice'), { recursive: true, force: true });
  // Two variants of one COS table: each certifies alone, but together they select identically.
  placeCosVariant(site, 'alice', '+', 'z1r1943el_1dx.fits');
  placeCosVariant(site, 'alice', '#', 'z1r1944el_1dx.fits');
  const lock = await lockFor(site, 'alice', 'cos');
  const { resultsId } = await site.service.startSubmission(request(site, 'alice', lock, 'group-check-1'));
  const p = await waitForProgress(site, resultsId, (x) => x.status === 'failed' || x.status === 'ready');
  expect(p.status).toBe('failed');
  // Each file alone certifies (its findings shown when not).
  expect(p.files.map((f) => (f.certify!.errors ? f.certify!.findings : 0))).toEqual([0, 0]);
  expect(p.groupCheck).toHaveLength(1);
  const g = p.groupCheck![0]!;
  expect(g.rmap).toMatch(/^hst_cos_xtractab_\d{4}\.rmap$/);
  expect(g.references).toEqual(['z1r1943el_1dx.fits', 'z1r1944el_1dx.fits']);
  expect(g.errors).toBeGreaterThan(0);
  const finding = g.findings.find((x) => x.level === 'ERROR')!.message;
  expect(finding).toMatch(/Both 'z1r194[34]el_1dx\.fits' and 'z1r194[34]el_1dx\.fits' identically match case/);
  expect(finding).not.toContain(site.config.serverFiles); // uploads named as uploaded, not by the server's paths
  expect(p.reason).toBe(`Certify's group check failed: inserting 'z1r1943el_1dx.fits', 'z1r1944el_1dx.fits' into '${g.rmap}'.`);
  expect(p.steps.find((s) => s.name === 'certify')).toMatchObject({ status: 'failed' });
  expect(p.steps.find((s) => s.name === 'generate')).toMatchObject({ status: 'pending' });
  expect(p.generated).toEqual([]);
  const pulled = await site.service.pullMessages(resultsId, '0');
  expect(pulled.some((m) => m.type === 'error' && String(m.data).includes('identically match case'))).toBe(true);
  expect(pulled[pulled.length - 1]).toMatchObject({ type: 'done', data: { status: 1 } });

  const html = await page(resultsId);
  const shown = section(html, 'group-check');
  expect(shown).toContain(g.rmap!);
  expect(shown).toContain('z1r1943el_1dx.fits, z1r1944el_1dx.fits');
  expect(shown).toMatch(/ERROR: Both 'z1r194[34]el_1dx\.fits' and 'z1r194[34]el_1dx\.fits' identically match case/);
  expect(html).toContain('id="submission-reason"');
});

it('shows on the ready page the rule differences of every new mapping and the collisions with another submission from the same parents', async () => {
  fs.rmSync(site.ingest('alice'), { recursive: true, force: true });
  placeCosVariant(site, 'alice', '+', 'z1r1943el_1dx.fits');
  const lock = await lockFor(site, 'alice', 'cos');
  const first = await site.service.startSubmission(request(site, 'alice', lock, 'review-first'));
  const p1 = await waitForProgress(site, first.resultsId, (x) => x.status === 'ready' || x.status === 'failed');
  expect({ status: p1.status, reason: p1.reason, findings: p1.files[0]!.certify!.errors ? p1.files[0]!.certify!.findings : [] }).toEqual({ status: 'ready', reason: undefined, findings: [] });
  expect(p1.groupCheck).toEqual([expect.objectContaining({ errors: 0, references: ['z1r1943el_1dx.fits'] })]);

  // Its own differences: the rmap gains the new reference (the imap and the pmap come at confirm).
  const ref = p1.files[0]!.name!;
  expect(p1.generated.map((g) => g.name)).toEqual([expect.stringMatching(/^hst_cos_xtractab_\d{4}\.rmap$/)]);
  const rmap = p1.generated[0]!;
  expect(rmap.differences!.length).toBeGreaterThan(0);
  expect(rmap.differences!.join('\n')).toContain(`'${ref}'`);
  expect(rmap.differences![0]).toMatch(/^DETECTOR=\w+ OBSTYPE=\w+ LIFE_ADJ=[\d.-]+ · useafter \d{4}-\d\d-\d\d \d\d:\d\d:\d\d · (added terminal|replaced) /);

  // Alone, nothing collides.
  let html = await page(first.resultsId);
  const diffs = section(html, 'generated');
  for (const g of p1.generated) expect(diffs).toContain(g.name);
  expect(diffs).toContain(`'${ref}'`);
  expect(html).not.toContain('id="collisions"');

  // A second submission from the same edit context while the first waits.
  fs.rmSync(site.ingest('alice'), { recursive: true, force: true });
  placeCosVariant(site, 'alice', '#', 'z1r1943el_1dx.fits');
  const second = await site.service.startSubmission(request(site, 'alice', lock, 'review-second'));
  const p2 = await waitForProgress(site, second.resultsId, (x) => x.status === 'ready' || x.status === 'failed');
  expect(p2.status).toBe('ready');
  expect(p2.generated.map((g) => g.derivedFrom).sort()).toEqual(p1.generated.map((g) => g.derivedFrom).sort());

  html = await page(first.resultsId);
  let collisions = section(html, 'collisions', 'div');
  for (const g of p2.generated) expect(collisions).toContain(g.name);
  expect(collisions).toContain(`${rmap.name} and ${p2.generated.find((g) => g.name.endsWith('.rmap'))!.name} (not yet confirmed, by alice`);
  expect(collisions).toContain(`are all derived from ${rmap.derivedFrom}`);
  // ... and the second sees the first.
  collisions = section(await page(second.resultsId), 'collisions', 'div');
  for (const g of p1.generated) expect(collisions).toContain(g.name);

  // The second is confirmed and delivered: its imap and pmap name the new rmap.
  await site.service.decide(second.resultsId, { action: 'confirm', username: 'alice', lock });
  const d2 = await waitForProgress(site, second.resultsId, (x) => !!x.delivery);
  const rmap2 = d2.generated.find((g) => g.name.endsWith('.rmap'))!;
  const imap2 = d2.generated.find((g) => g.name.endsWith('.imap'))!;
  const pmap2 = d2.generated.find((g) => g.name.endsWith('.pmap'))!;
  expect(imap2.differences!.join('\n')).toContain(`${rmap2.derivedFrom} → ${rmap2.name}`);
  expect(pmap2.differences!.join('\n')).toContain(`${imap2.derivedFrom} → ${imap2.name}`);
  // The first still warns, now of delivered rules, and its confirm is refused: the same type
  // was delivered meanwhile, so its rmap would drop the second's reference.
  collisions = section(await page(first.resultsId), 'collisions', 'div');
  expect(collisions).toContain(`${rmap2.name} (delivered, by alice`);
  // (Confirming the second released alice's lock: she takes it again and forces.)
  const again = await lockFor(site, 'alice', 'cos');
  await expect(site.service.decide(first.resultsId, { action: 'force', username: 'alice', lock: again })).rejects.toThrow(
    `Cannot confirm: '${rmap.name}' was made from '${rmap.derivedFrom}', but context '${d2.context.newContext}' now uses '${rmap2.name}' for cos xtractab. Another submission delivered rules of the same type meanwhile; please submit your files again.`,
  );
  expect((await site.service.progress(first.resultsId))!.status).toBe('ready');

  // Cancelled, the first is gone from the second's (finished) page and leaves nothing.
  await site.service.decide(first.resultsId, { action: 'cancel', username: 'alice', lock: again });
  await waitForProgress(site, first.resultsId, (x) => x.status === 'cancelled');
  expect(await site.db.models.CatalogFile.count({ where: { name: p1.generated.map((g) => g.name) } })).toBe(0);
});
