// Issue #10 on one site (real MariaDB with the real HST rules, the worker process, Temporal,
// the web app, a real SMTP receiver and the real `crds submit`): contexts made at confirm under
// the site-wide context-generation lock, so two teams (COS and ACS) confirming from the same
// edit context, in either order or at the same instant, both end up in the final edit context
// with a gap-free context chain; a worker killed with SIGKILL while holding that lock; no
// expiry by default, the site's expiry, and a teammate's force; result pages after the
// workflow's history is deleted; a step that keeps failing ends the submission failed, and the
// real client exits non-zero with the error.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { loadConfig } from '../../config';
import { MappingStore } from '../../crds';
import { referenceKeywords } from '../../crds/reference-header';
import { createUser, setGroup } from '../../db/accounts';
import { contextHistory, defaultContexts } from '../../db/catalog';
import { useafterOf } from '../../db/catalog-import';
import { releaseLocks } from '../../db/locks';
import { CONTEXT_LOCK } from '../../db/context-lock';
import { archiveStep } from '../../ops/commands/archive-sim';
import { createSubmissionService } from '../../web/submissions';
import { submissionWorkflowId, type SubmissionProgress } from '../../workflows/submission-types';
import { CRDS_CLI, run } from '../jsonrpc/site';
import { stopProcess, type Started } from '../support/processes';
import { WebSession } from '../web/web-session';
import { deliveredNames, holdCatalogRows, ls } from './exactly-once';
import { acsVariant, CONTEXT, cosVariant, lockFor, request, startSubmissionSite, startWebApp, startWorkerProcess, waitForProgress, type SubmissionSite, type WebApp } from './harness';

jest.setTimeout(600_000);

let site: SubmissionSite;
let worker: Started | undefined;
let web: WebApp | undefined;
let tags = 0;

// Short lease and retry bound, through the site's own settings.
const LEASE_MS = 3_000;

beforeAll(async () => {
  site = await startSubmissionSite('confirm', { env: { CRDS_CONTEXT_LOCK_LEASE: `${LEASE_MS / 1000}s`, CRDS_SUBMISSION_ATTEMPTS: '3' } });
  await createUser(site.db, { username: 'carol', email: 'carol@test.example', password: 'carol-password' });
  await setGroup(site.db, 'cos-team', ['cos'], ['alice', 'bob']);
  await setGroup(site.db, 'acs-team', ['acs'], ['carol']);
  worker = await startWorkerProcess(site);
  web = await startWebApp(site, 'confirm-test-secret-0123456789abcdef');
});

afterAll(async () => {
  await stopProcess(worker, 'SIGKILL');
  await web?.close();
  await site?.close();
});

type Team = { user: string; instrument: 'cos' | 'acs'; filekind: string; file: string };
const COS: Team = { user: 'alice', instrument: 'cos', filekind: 'xtractab', file: 'z1r1943el_1dx.fits' };
const ACS: Team = { user: 'carol', instrument: 'acs', filekind: 'idctab', file: 'v8q14451j_idc.fits' };

/** A new variant of the team's reference, alone in its submitter's ingest folder. */
function place(team: Team): string {
  const tag = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'[tags++]!;
  fs.rmSync(site.ingest(team.user), { recursive: true, force: true });
  fs.mkdirSync(site.ingest(team.user), { recursive: true });
  const file = path.join(site.ingest(team.user), team.file);
  fs.writeFileSync(file, team.instrument === 'cos' ? cosVariant(tag) : acsVariant(tag));
  return file;
}

/** The team submits its reference (pmap_edit) and waits until it is READY. */
async function ready(team: Team, key: string, service = site.service) {
  place(team);
  const lock = await lockFor(site, team.user, team.instrument);
  const { resultsId } = await service.startSubmission({ ...request(site, team.user, lock, key, `${team.instrument} ${key}`), compareOldReference: false });
  const p = await waitForProgress(site, resultsId, (x) => x.status !== 'ingesting' && x.status !== 'certifying' && x.status !== 'generating', 180_000);
  expect({ key, status: p.status, reason: p.reason }).toEqual({ key, status: 'ready', reason: undefined });
  return { team, resultsId, lock, p };
}
type Ready = Awaited<ReturnType<typeof ready>>;

const confirm = (r: Ready) => site.service.decide(r.resultsId, { action: 'confirm', username: r.team.user });
const delivered = (r: Ready) => waitForProgress(site, r.resultsId, (x) => !!x.delivery || x.status === 'failed', 180_000);

/** The rmap the context uses for the team's type, and its best reference for the submitted file's own header. */
function inContext(context: string, team: Team, reference: string): { rmap: string; best: string } {
  const store = new MappingStore(path.join(site.config.fileCache, 'mappings', 'hst'), { ignoreChecksum: true });
  const pmap = store.loadContext(context);
  const imap = pmap.selections.get(team.instrument)!;
  const rmap = (store.load(imap) as unknown as { selections: ReadonlyMap<string, string> }).selections.get(team.filekind)!;
  const k = referenceKeywords(path.join(site.config.fileCache, 'references', 'hst', reference));
  const [date, time] = useafterOf(k.useafter).toISOString().slice(0, 19).split('T');
  const header = { ...k.header, INSTRUME: team.instrument.toUpperCase(), 'DATE-OBS': date!, 'TIME-OBS': time! };
  const best = pmap.getBestReferences(header as Record<string, string>, [team.filekind])[team.filekind];
  return { rmap, best: String(best) };
}

/**
 * The edit context holds every submission's new rmap and selects its reference; each new
 * edit context derives from the one before it (no gap) back to `from`.
 */
async function expectAllInEditContext(subs: SubmissionProgress[], from: string): Promise<void> {
  const { edit } = await defaultContexts(site.db);
  for (const s of subs) {
    const team = s.instrument === 'cos' ? COS : ACS;
    const rmap = s.generated.find((g) => g.name.endsWith('.rmap'))!.name;
    expect({ submission: s.submissionId, ...inContext(edit, team, s.files[0]!.name!) }).toEqual({ submission: s.submissionId, rmap, best: s.files[0]!.name! });
  }
  const history = (await contextHistory(site.db, 'edit')).map((h) => h.context).reverse();
  const chain = history.slice(history.indexOf(from));
  expect(chain).toHaveLength(subs.length + 1);
  expect(chain[chain.length - 1]).toBe(edit);
  for (let i = 1; i < chain.length; i++) {
    const row = await site.db.models.CatalogFile.findOne({ where: { name: chain[i]! } });
    expect({ context: chain[i], derivedFrom: row!.derivedFrom }).toEqual({ context: chain[i], derivedFrom: chain[i - 1] });
  }
  expect(subs.map((s) => s.context.base).sort()).toEqual(chain.slice(0, -1).sort());
}

async function twoTeams(order: 'cos first' | 'acs first' | 'same instant', n: number) {
  const { edit: from } = await defaultContexts(site.db);
  const [cos, acs] = await Promise.all([ready(COS, `cos-${n}`), ready(ACS, `acs-${n}`)]);
  // Both derived from the same edit context.
  expect([cos.p.context.derivedFrom, acs.p.context.derivedFrom]).toEqual([from, from]);
  let done: SubmissionProgress[];
  if (order === 'same instant') {
    await Promise.all([confirm(cos), confirm(acs)]);
    done = await Promise.all([delivered(cos), delivered(acs)]);
  } else {
    const [first, second] = order === 'cos first' ? [cos, acs] : [acs, cos];
    await confirm(first);
    const d1 = await delivered(first);
    await confirm(second);
    done = [d1, await delivered(second)];
  }
  // Delivered, and perhaps already watching the archive (the wait ends at the delivery).
  for (const d of done) expect({ id: d.submissionId, status: d.status, reason: d.reason }).toEqual({ id: d.submissionId, status: expect.stringMatching(/^(delivered|archiving)$/), reason: undefined });
  await expectAllInEditContext(done, from);
  return done;
}

it('two teams confirming from the same edit context, in either order or at the same instant, both end up in the edit context', async () => {
  const started = Date.now();
  await twoTeams('cos first', 1);
  await twoTeams('acs first', 2);
  const same = await twoTeams('same instant', 3);
  // Each submission's imap and pmap were made at confirm, from the context in force then.
  for (const d of same) expect(d.generated.map((g) => g.name.slice(-5)).sort()).toEqual(['.imap', '.pmap', '.rmap']);
  expect(await site.db.models.InstrumentLock.count({ where: { ...CONTEXT_LOCK } })).toBe(0);
  console.log(`three rounds of two teams in ${Date.now() - started} ms`);
});

it('a worker killed with SIGKILL while holding the context-generation lock: the next confirm proceeds after the lease, nothing is delivered twice', async () => {
  const { edit: from } = await defaultContexts(site.db);
  const [x, y] = await Promise.all([ready(COS, 'killed-holding-lock'), ready(ACS, 'after-the-lease')]);
  const catalogsBefore = ls(path.join(site.config.serverFiles, 'catalogs')).length;
  // x's delivery stops inside its transaction, holding the lock.
  const blocker = await holdCatalogRows(site, deliveredNames(x.p));
  await confirm(x);
  const deliveries = path.join(site.config.serverFiles, 'deliveries');
  const deadline = Date.now() + 60_000;
  let orphan: string | undefined;
  for (;;) {
    const lock = await site.db.models.InstrumentLock.findOne({ where: { ...CONTEXT_LOCK } });
    // x's first pmap, made from the edit context of now and linked for delivery.
    const pmaps = await site.db.models.CatalogFile.findAll({ where: { state: 'uploaded', delivererUser: 'alice' } });
    orphan = pmaps.find((r) => r.name.endsWith('.pmap'))?.name;
    if (lock?.username === `submission:${x.resultsId}` && orphan && ls(deliveries).includes(orphan)) break;
    if (Date.now() > deadline) throw new Error(`x never reached its delivery transaction:\n${worker!.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  await new Promise((r) => setTimeout(r, 500)); // into the blocked UPDATE
  await stopProcess(worker, 'SIGKILL');
  const killedAt = Date.now();
  blocker.release();
  await blocker.done;
  worker = await startWorkerProcess(site);

  // y confirms at once; it waits for the dead holder's lease, then builds on the edit context.
  // The decision's check runs on a worker: while the new one starts, the web's few seconds may
  // pass, and the submitter tries again (an update that got through meanwhile counts).
  for (const until = Date.now() + 90_000; ; ) {
    try {
      await confirm(y);
      break;
    } catch (err) {
      if (/already confirmed/.test(String(err))) break;
      if (Date.now() > until || !/Deadline|Timeout|try again/i.test(String(err))) throw err;
    }
  }
  const dy = await delivered(y);
  const dx = await delivered(x);
  console.log(`y delivered ${Date.now() - killedAt} ms after the kill (lease ${LEASE_MS} ms)`);
  if (dx.status !== 'delivered') console.log(worker!.output());
  // Delivered (the archive watch may already have begun).
  const past = (status: string) => (['delivered', 'archiving'].includes(status) ? 'delivered' : status);
  expect([past(dx.status), dx.reason, past(dy.status), dy.reason]).toEqual(['delivered', undefined, 'delivered', undefined]);
  if (dy.context.base === from) {
    // y took the lock first: x built again on y's context, its first pmap (from the old base) gone everywhere.
    expect(dx.context.base).toBe(dy.context.newContext);
    expect(dx.context.newContext).not.toBe(orphan);
    expect(await site.db.models.CatalogFile.count({ where: { name: orphan! } })).toBe(0);
    expect(fs.existsSync(path.join(site.config.fileCache, 'mappings', 'hst', orphan!))).toBe(false);
    expect(ls(deliveries)).not.toContain(orphan);
  } else {
    // x's retry (on the restarted worker) took the lock first: same base, its own context kept; y built on it.
    expect(dx.context.base).toBe(from);
    expect(dx.context.newContext).toBe(orphan);
    expect(dy.context.base).toBe(dx.context.newContext);
  }
  await expectAllInEditContext([dy, dx], from);
  // One catalog each, listing exactly what it delivered; one audit record per file.
  const catalogs = path.join(site.config.serverFiles, 'catalogs');
  expect(ls(catalogs)).toHaveLength(catalogsBefore + 2);
  for (const d of [dx, dy]) {
    const names = deliveredNames(d);
    expect(names).toHaveLength(4);
    expect(fs.readFileSync(path.join(catalogs, d.delivery!.catalog), 'utf8')).toBe(names.join('\n') + '\n');
    expect(await site.db.models.CatalogFile.count({ where: { name: names, catalogLink: path.join(deliveries, d.delivery!.catalog) } })).toBe(4);
    expect(await site.db.models.AuditRecord.count({ where: { action: 'batch submit', filename: names } })).toBe(4);
  }
  expect(await site.db.models.InstrumentLock.count({ where: { ...CONTEXT_LOCK } })).toBe(0);
});

let expired: string;
let forced: string;

it('READY waits without an expiry; with the site expiry it is cancelled with mail; a teammate forces once the lock expired', async () => {
  // The same site with CRDS_SUBMISSION_EXPIRY set, in seconds instead of the old 24 hours.
  const shortExpiry = createSubmissionService({ client: async () => site.client, config: loadConfig({ ...site.env, CRDS_SUBMISSION_EXPIRY: '3s' }), db: site.db });
  const [waiting, expiring] = await Promise.all([ready(COS, 'no-expiry'), ready(ACS, 'expiry', shortExpiry)]);
  expired = expiring.resultsId;
  forced = waiting.resultsId;
  expect(waiting.p.confirmDeadline).toBeUndefined();
  expect(expiring.p.confirmDeadline).toBeDefined();
  const cancelled = await waitForProgress(site, expired, (x) => x.status !== 'ready', 30_000);
  expect({ status: cancelled.status, disposition: cancelled.disposition }).toEqual({ status: 'cancelled', disposition: 'timed out' });
  expect(cancelled.reason).toBe(`Nobody confirmed or cancelled the submission before ${expiring.p.confirmDeadline}.`);
  await waitFor(() => site.mails.some((m) => m.text.includes(expired) && m.subject.startsWith('CRDS HST submission CANCELLED') && m.text.includes('Nobody confirmed')));
  expect(await site.db.models.CatalogFile.count({ where: { name: deliveredNames(expiring.p) } })).toBe(0);
  // Past the expiry the other is still READY.
  await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(expiring.p.confirmDeadline!) + 1_000 - Date.now())));
  expect((await site.service.progress(forced))!.status).toBe('ready');

  // alice's lock expires; her confirm is refused, carol (ACS) may not force, bob (COS) may.
  await site.db.models.InstrumentLock.update({ expiresAt: new Date(Date.now() - 1000) }, { where: { username: 'alice' } });
  await expect(site.service.decide(forced, { action: 'confirm', username: 'alice', lock: waiting.lock })).rejects.toThrow(/^BROKEN LOCK/);
  await lockFor(site, 'carol', 'acs');
  await expect(site.service.decide(forced, { action: 'force', username: 'carol' })).rejects.toThrow("You must hold the lock on instrument 'cos' to force this submission.");
  // A claimed lock in the request counts for nothing: the catalog's is checked.
  await expect(site.service.decide(forced, { action: 'force', username: 'carol', lock: { instrument: 'cos', lockId: 'x', expiresAt: '2999-01-01T00:00:00Z' } })).rejects.toThrow(/must hold the lock on instrument 'cos'/);
  await lockFor(site, 'bob', 'cos');
  await expect(site.service.decide(forced, { action: 'force', username: 'bob' })).resolves.toMatchObject({ disposition: 'forced' });
  const d = await delivered(waiting);
  expect({ status: d.status, disposition: d.disposition, decidedBy: d.decidedBy }).toEqual({ status: expect.stringMatching(/^(delivered|archiving)$/), disposition: 'forced', decidedBy: 'bob' });
});

it('result pages and mail links work after the workflow history is deleted, for the submitter, their group and superusers only', async () => {
  // The forced submission archived, then both histories deleted through Temporal's API.
  const deliveries = path.join(site.config.serverFiles, 'deliveries');
  for (let i = 0; i < 3; i++) archiveStep(deliveries);
  await waitForProgress(site, forced, (x) => x.status === 'archived', 120_000);
  await createUser(site.db, { username: 'root', password: 'root-password', isSuperuser: true });
  for (const id of [forced, expired]) {
    const workflowId = submissionWorkflowId('hst', id);
    await site.client.workflowService.deleteWorkflowExecution({ namespace: site.config.temporal.namespace, workflowExecution: { workflowId } });
    await waitFor(async () => (await site.client.workflow.getHandle(workflowId).describe().then(() => false, (e) => e instanceof WorkflowNotFoundError)), 60_000);
  }
  const session = async (user: string) => {
    const s = new WebSession(web!.url);
    expect((await s.login(user, `${user}-password`)).status).toBe(302);
    return s;
  };
  const [alice, bob, carol, root] = await Promise.all(['alice', 'bob', 'carol', 'root'].map(session));
  // The mail's link, on this web app.
  const mail = site.mails.find((m) => m.text.includes(forced) && m.subject.startsWith('CRDS HST submission ARCHIVED'))!;
  const link = new URL(/Result: (\S+)/.exec(mail.text)![1]!).pathname;
  expect(link).toBe(`/display_result/${forced}`);
  for (const reader of [alice, bob, root]) {
    const page = await reader.get(link);
    expect(page.status).toBe(200);
    expect(page.text).toContain('archived');
    expect(page.text).toContain('forced');
    expect((await reader.get(`/authenticated_result/${forced}`)).status).toBe(200);
  }
  const login = `/login/?next=${encodeURIComponent(`/authenticated_result/${forced}`)}`;
  expect((await carol.get(link)).headers.get('location')).toBe(login); // not of alice's groups
  expect((await new WebSession(web!.url).get(link)).headers.get('location')).toBe(login);
  expect((await new WebSession(web!.url).get(`/authenticated_result/${forced}`)).headers.get('location')).toMatch(/^\/login\/\?next=/);
  const cancelledPage = await carol.get(`/display_result/${expired}`);
  expect(cancelledPage.status).toBe(200);
  expect(cancelledPage.text).toContain('Nobody confirmed or cancelled the submission');
  expect((await alice.get(`/display_result/${expired}`)).status).toBe(302);
  // jpoll still answers from the stored result.
  const pulled = await site.service.pullMessages(expired, '0');
  expect(pulled[pulled.length - 1]).toMatchObject({ type: 'done', data: { status: 0 } });
});

it('a step that keeps failing ends the submission failed within its retry bound, and the real crds submit exits non-zero with the error', async () => {
  await releaseLocks(site.db, 'bob'); // bob forced a COS submission above and still holds the lock
  // The submissions folder is a file: ingest fails with a non-user error on every try.
  const submissions = path.join(site.config.serverFiles, 'submissions');
  fs.rmSync(submissions, { recursive: true, force: true });
  fs.writeFileSync(submissions, 'not a folder\n');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-confirm-cli-'));
  try {
    const file = path.join(work, COS.file);
    fs.writeFileSync(file, cosVariant('~'));
    const env = { CRDS_SERVER_URL: web!.url, CRDS_OBSERVATORY: 'hst', CRDS_PATH: path.join(work, 'cache'), CRDS_USERNAME: 'alice', MAST_API_TOKEN: 'alice-password', NO_PROXY: 'localhost,127.0.0.1' };
    const args = ['submit', '--files', file, '--description', 'COS failing step', '--creator', 'Alice Test', '--change-level', 'SEVERE', '--wipe-existing-files', '--monitor-processing', '--wait-for-completion'];
    const started = Date.now();
    const result = await run(CRDS_CLI, args, env);
    const output = result.stdout + result.stderr;
    console.log(`crds submit exit=${result.status} after ${Date.now() - started} ms`);
    expect(result.status).not.toBe(0);
    const failed = /FAILED: (ingestSubmissionFiles kept failing: .*)/.exec(output);
    if (!failed) console.log(output);
    expect(failed).not.toBeNull();
    const resultsId = await lastSubmissionOf('alice');
    const p = await waitForProgress(site, resultsId, (x) => x.status === 'failed');
    expect(p.reason).toMatch(/^ingestSubmissionFiles kept failing: .*ENOTDIR/);
    expect(failed![1]!.trim()).toBe(p.reason);
    expect(p.steps.find((s) => s.name === 'ingest')).toMatchObject({ status: 'failed' });
    await waitFor(() => site.mails.some((m) => m.text.includes(resultsId) && m.subject.startsWith('CRDS HST submission FAILED') && m.text.includes('kept failing')));
    const page = await (async () => {
      const s = new WebSession(web!.url);
      await s.login('alice', 'alice-password');
      return s.get(`/display_result/${resultsId}`);
    })();
    expect(page.text).toContain('kept failing');
  } finally {
    fs.rmSync(submissions, { force: true });
    fs.rmSync(work, { recursive: true, force: true });
  }
});

/** The id of the user's newest stored submission result. */
async function lastSubmissionOf(username: string): Promise<string> {
  const [rows] = (await site.db.sequelize.query('SELECT submission_id FROM submission_results WHERE username = ? ORDER BY updated_at DESC LIMIT 1', { replacements: [username] })) as [{ submission_id: string }[], unknown];
  return rows[0]!.submission_id;
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}
