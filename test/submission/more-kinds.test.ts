// Issue #10 item 4, the rest of the original's submission kinds, on the real web app, the
// real worker, MariaDB with the real HST rules (hst_0700 … hst_0729) and a real SMTP
// receiver: simple submit of a reference and of mappings (with and without generate
// contexts), delete and add existing references, create contexts, each end to end with its
// result page, jpoll channel and mail; the new rules compared with the real `crds` library's
// refactoring functions on the same inputs; hostile posts to each form refused with nothing
// changed; each page in a real browser with axe-core.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { MappingStore, mappingSeries } from '../../crds';
import { rmapDeleteReferences } from '../../crds/refactor';
import { createUser, setGroup } from '../../db/accounts';
import { defaultContexts } from '../../db/catalog';
import type { SubmissionProgress } from '../../workflows/submission-types';
import { runOracle } from '../refactor/oracle';
import { launchBrowser } from '../support/browser';
import { errorDiv, WebSession } from '../web/web-session';
import { acsVariant, CONTEXT, cosVariant, realCacheSubset, startSubmissionSite, startWebApp, startWorkerInProcess, waitForProgress, type SubmissionSite, type WebApp } from './harness';

jest.setTimeout(300_000);

let site: SubmissionSite;
let worker: { close(): Promise<void> } | undefined;
let web: WebApp | undefined;
let url: string;
let work: string;
let store: MappingStore;
/** The COS reference the simple submission delivers (in no context), then added to CONTEXT and deleted again. */
let inContext: string;
/** The contexts the add and the delete made: with and without it. */
let pmapWith: string;
let pmapWithout: string;
let acsReference: string;
/** A COS rmap of an older context, not in CONTEXT (for create_contexts). */
let olderRmap: string;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-more-kinds-'));
  realCacheSubset(path.join(work, 'cache'));
  site = await startSubmissionSite('morekinds', { cache: path.join(work, 'cache') });
  await setGroup(site.db, 'cos-team', ['cos'], ['alice']);
  await createUser(site.db, { username: 'root', email: 'root@test.example', password: 'root-password', isSuperuser: true });
  worker = await startWorkerInProcess(site);
  web = await startWebApp(site, 'more-kinds-secret', { host: 'localhost' });
  url = web.url;
  store = new MappingStore(path.join(site.config.fileCache, 'mappings', 'hst'), { ignoreChecksum: 'warn' });
  // The shared cache's few real references are in none of these contexts: the tests add the one
  // the simple reference submission delivers, then delete it again.
  const context = store.loadContext(CONTEXT);
  const older = store.loadContext('hst_0700.pmap');
  const currentMappings = new Set(context.mappingNames());
  olderRmap = older.mappingNames().sort().find((n) => n.startsWith('hst_cos_') && n.endsWith('.rmap') && !currentMappings.has(n) && /_\d{4}\.rmap$/.test(n))!;
  expect(olderRmap).toMatch(/^hst_cos_/);
});

afterAll(async () => {
  await worker?.close();
  await web?.close();
  await site?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const catalogCount = () => site.db.models.CatalogFile.count();
const editContext = async () => (await defaultContexts(site.db)).edit;
const stripChecksum = (text: string) => text.replace(/'sha1sum' : '[0-9a-f]*'/, "'sha1sum' : ''");
const mappingText = (name: string) => fs.readFileSync(path.join(site.config.fileCache, 'mappings', 'hst', name), 'utf8');

async function loggedIn(username: string, instrument = 'none'): Promise<WebSession> {
  const session = new WebSession(url);
  // A kept-alive socket the server closed meanwhile fails the first request: try once more.
  const r = await session.login(username, `${username}-password`, instrument).catch(() => session.login(username, `${username}-password`, instrument));
  expect(r.status).toBe(302);
  return session;
}

/** Posts a submission form; the answer is the redirect to the result page. */
async function submit(session: WebSession, page: string, form: Record<string, string>): Promise<string> {
  const r = await session.post(page, form);
  expect([r.status, errorDiv(r.text)]).toEqual([302, undefined]);
  const location = r.headers.get('location')!;
  expect(location).toMatch(/^\/display_result\/[A-Za-z0-9:.-]+$/);
  return location.split('/').pop()!;
}

const settled = (p: SubmissionProgress) => ['ready', 'failed', 'cancelled', 'delivered', 'archiving', 'archived'].includes(p.status);
const delivered = (p: SubmissionProgress) => ['delivered', 'archiving', 'archived', 'failed'].includes(p.status);

/** READY → confirmed by the submitter on the page → delivered; returns the final progress. */
async function confirm(session: WebSession, resultsId: string): Promise<SubmissionProgress> {
  const ready = await waitForProgress(site, resultsId, settled);
  expect([ready.status, ready.reason]).toEqual(['ready', undefined]);
  const r = await session.post('/submit_confirm/', { results_id: resultsId, button: 'confirm' });
  expect([r.status, errorDiv(r.text)]).toEqual([302, undefined]);
  const p = await waitForProgress(site, resultsId, delivered);
  expect([p.status, p.reason]).toEqual([expect.stringMatching(/^(delivered|archiving|archived)$/), undefined]);
  return p;
}

async function mailFor(resultsId: string, status: RegExp): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!site.mails.some((m) => status.test(m.subject) && m.text.replace(/=\r?\n/g, '').includes(resultsId))) {
    if (Date.now() > deadline) throw new Error(`no ${status} mail for ${resultsId}: ${site.mails.map((m) => m.subject).join(' | ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The stored result page and the jpoll channel say what the progress says. */
async function resultShown(session: WebSession, resultsId: string, status: string): Promise<void> {
  const page = await session.get(`/display_result/${resultsId}`);
  expect(page.status).toBe(200);
  expect(page.text).toMatch(new RegExp(`data-status="${status}"`));
  const messages = await site.service.pullMessages(resultsId, 0);
  expect(messages.some((m) => m.type === 'done')).toBe(true);
}

function placeIngest(username: string, name: string, content: string | Buffer): void {
  fs.mkdirSync(site.ingest(username), { recursive: true });
  fs.writeFileSync(path.join(site.ingest(username), name), content);
}
const clearIngest = (username: string) => fs.rmSync(site.ingest(username), { recursive: true, force: true });

/** A new COS rmap: `old` of CONTEXT without its first reference, under a new name of its series. */
async function newRmapOf(old: string): Promise<{ name: string; text: string }> {
  const series = mappingSeries(old).series;
  const rows = await site.db.models.CatalogFile.findAll({ attributes: ['name'], where: { type: 'mapping' } });
  const highest = Math.max(...rows.filter((r) => r.name.startsWith(`${series}_`)).map((r) => Number(/_(\d+)\.rmap$/.exec(r.name)?.[1] ?? 0)));
  const name = `${series}_${String(highest + 1).padStart(4, '0')}.rmap`;
  const [first] = (store.load(old) as unknown as { referenceNames(): string[] }).referenceNames();
  return { name, text: rmapDeleteReferences(mappingText(old), old, [first!], { newName: name }) };
}

const cosRmaps = () => {
  const imap = store.load(store.loadContext(CONTEXT).selections.get('cos')!) as unknown as { selections: ReadonlyMap<string, string> };
  return [...imap.selections.values()].filter((n) => n.endsWith('.rmap')).sort();
};

/** The audit records' actions of a submission's delivery (the original's kind names, §4.6). */
const auditActions = async (id: string): Promise<string[]> =>
  [...new Set((await site.db.models.AuditRecord.findAll()).filter((r) => (r.details as { submission?: unknown } | null)?.submission === id).map((r) => r.action))];

it('/submit/reference/: the reference is delivered as it is, no rules made; result page, jpoll and mail as batch submit', async () => {
  clearIngest('alice');
  placeIngest('alice', 'z1r1943el_1dx.fits', cosVariant('s'));
  const alice = await loggedIn('alice', 'cos');
  const edit = await editContext();
  const id = await submit(alice, '/submit/reference/', { pmap_mode: 'pmap_edit', change_level: 'SEVERE', description: 'a simple reference', auto_rename: 'True', compare_old_reference: 'False' });
  const p = await confirm(alice, id);
  expect(p.kind).toBe('reference');
  expect(p.generated).toEqual([]);
  const name = p.files[0]!.name!;
  expect(name).not.toBe('z1r1943el_1dx.fits');
  inContext = name;
  expect((await site.db.models.CatalogFile.findOne({ where: { name } }))!.state).not.toBe('uploaded');
  expect(await editContext()).toBe(edit);
  expect(await auditActions(id)).toEqual(['submit file']);
  await mailFor(id, /submission READY/);
  await mailFor(id, /submission CONFIRMED/);
  await resultShown(await loggedIn('alice'), id, '(delivered|archiving|archived)');
});

it('/submit/mapping/ with generate_contexts: the rmap gets new imaps and a pmap at confirm; without, it is delivered alone', async () => {
  const [a, b] = cosRmaps();
  const withContexts = await newRmapOf(a!);
  clearIngest('alice');
  placeIngest('alice', withContexts.name, withContexts.text);
  let alice = await loggedIn('alice', 'cos');
  const id = await submit(alice, '/submit/mapping/', { pmap_mode: 'pmap_edit', description: 'an rmap with contexts', generate_contexts: 'True', compare_old_reference: 'False' });
  const p = await confirm(alice, id);
  expect(p.kind).toBe('mapping');
  const pmap = p.context.newContext!;
  expect(pmap).toMatch(/^hst_\d{4}\.pmap$/);
  expect(await editContext()).toBe(pmap);
  expect(store.loadContext(pmap).mappingNames()).toContain(withContexts.name);

  const alone = await newRmapOf(b!);
  clearIngest('alice');
  placeIngest('alice', alone.name, alone.text);
  alice = await loggedIn('alice', 'cos');
  const id2 = await submit(alice, '/submit/mapping/', { pmap_mode: 'pmap_edit', description: 'an rmap alone', generate_contexts: 'False', compare_old_reference: 'False' });
  const q = await confirm(alice, id2);
  expect(q.generated).toEqual([]);
  expect(q.context.newContext).toBeUndefined();
  expect((await site.db.models.CatalogFile.findOne({ where: { name: alone.name } }))!.state).not.toBe('uploaded');
  expect(await editContext()).toBe(pmap); // no context was made
  await mailFor(id2, /submission CONFIRMED/);
});

it('/delete/reference/ and /add_existing/reference/ make the rmaps the real library makes, then contexts at confirm', async () => {
  // The reference delivered above is added to CONTEXT, then deleted from the context the add made.
  const results: { id: string; action: 'delete' | 'insert'; rmap: string; derivedFrom: string }[] = [];
  let from = CONTEXT;
  for (const [page, field, action] of [
    ['/add_existing/reference/', 'added_files', 'insert'],
    ['/delete/reference/', 'deleted_files', 'delete'],
  ] as const) {
    const alice = await loggedIn('alice', 'cos');
    const id = await submit(alice, page, { pmap_mode: 'pmap_text', pmap_text: from, [field]: inContext, description: `${action} one reference`, change_level: 'SEVERE' });
    const p = await confirm(alice, id);
    expect(p.kind).toBe(action === 'delete' ? 'delete' : 'add');
    const rmap = p.generated.find((g) => g.name.endsWith('.rmap'))!;
    results.push({ id, action, rmap: rmap.name, derivedFrom: rmap.derivedFrom });
    expect(p.context).toMatchObject({ derivedFrom: from, base: from });
    const refs = new Set(store.loadContext(p.context.newContext!).referenceNames());
    expect(refs.has(inContext)).toBe(action === 'insert');
    expect(await editContext()).toBe(p.context.newContext);
    expect(await auditActions(id)).toEqual([action === 'delete' ? 'delete references' : 'add references']);
    await mailFor(id, /submission CONFIRMED/);
    from = p.context.newContext!;
    if (action === 'delete') pmapWithout = from;
    else pmapWith = from;
  }
  // The real library on the same rmaps (the site's cache holds the one the add made) and the same file.
  const oracle = runOracle<{ results: Record<string, { text?: string; error?: string }> }>('rmap_references.py', {
    mappings: path.join(site.config.fileCache, 'mappings'),
    observatories: ['hst'],
    references: path.join(site.config.fileCache, 'references', 'hst'),
    cases: results.map((r) => ({ id: r.id, rmap: r.derivedFrom, action: r.action, references: [inContext], new_name: r.rmap })),
  }).results;
  for (const r of results) {
    expect(oracle[r.id]!.error).toBeUndefined();
    expect({ rmap: r.rmap, text: stripChecksum(mappingText(r.rmap)) }).toEqual({ rmap: r.rmap, text: stripChecksum(oracle[r.id]!.text!) });
  }
});

it('/create_contexts/ (a superuser) delivers new imaps and a pmap at once, as the real library makes them', async () => {
  const root = await loggedIn('root');
  const id = await submit(root, '/create_contexts/', { pmap_mode: 'pmap_text', pmap_text: CONTEXT, rmaps: olderRmap, description: 'install an older rmap' });
  const p = await waitForProgress(site, id, delivered);
  expect([p.status, p.reason, p.disposition]).toEqual([expect.stringMatching(/delivered|archiving|archived/), undefined, '']);
  expect(p.steps.map((s) => s.name)).toEqual(['generate', 'deliver', 'archive']);
  expect(await editContext()).toBe(p.context.newContext);
  const ours = Object.fromEntries(p.generated.map((g) => [g.derivedFrom, g.name]));
  // The real library on the site's own rules (the new imaps and pmap written there are ours; the library names its next).
  const oracle = runOracle<{ names: Record<string, string>; files: Record<string, string>; error?: string }>('site_new_context.py', {
    mappings: path.join(site.config.fileCache, 'mappings'),
    observatories: ['hst'],
    pmap: CONTEXT,
    updates: [olderRmap],
  });
  expect(oracle.error).toBeUndefined();
  expect(Object.keys(oracle.names).sort()).toEqual(Object.keys(ours).sort());
  // The library's names are the next ones after ours in the same cache: compare under ours.
  const rename = (text: string) => Object.entries(oracle.names).reduce((t, [old, theirs]) => t.split(theirs).join(ours[old]!), text);
  for (const [old, theirs] of Object.entries(oracle.names)) {
    expect({ old, text: stripChecksum(mappingText(ours[old]!)) }).toEqual({ old, text: stripChecksum(rename(oracle.files[theirs]!)) });
  }
  expect(store.loadContext(p.context.newContext!).mappingNames()).toContain(olderRmap);
  expect(await auditActions(id)).toEqual(['new context']);
  await mailFor(id, /submission DELIVERED/);
});

describe('hostile input', () => {
  const workflows = async () => {
    let n = 0;
    for await (const _ of site.client.workflow.list({ query: `CrdsObservatory = 'hst'` })) n++;
    return n;
  };

  it('each form refuses clearly and changes nothing', async () => {
    // An ACS reference in the catalog: a superuser submits one for acs.
    clearIngest('root');
    placeIngest('root', 'v8q14451j_idc.fits', acsVariant('h'));
    const root = await loggedIn('root', 'acs');
    const acs = await confirm(root, await submit(root, '/submit/reference/', { pmap_mode: 'pmap_edit', description: 'an acs reference', auto_rename: 'True', compare_old_reference: 'False' }));
    const acsReference = acs.files[0]!.name!;
    clearIngest('alice');
    const alice = await loggedIn('alice', 'cos');
    const before = { files: await catalogCount(), workflows: await workflows(), edit: await editContext() };
    const common = { pmap_mode: 'pmap_text', pmap_text: CONTEXT, description: 'hostile', change_level: 'SEVERE' };
    const refusals: [string, Record<string, string>, RegExp | number, string?][] = [
      ['/delete/reference/', { ...common, deleted_files: inContext, csrfmiddlewaretoken: 'forged' }, 403],
      ['/add_existing/reference/', { ...common, added_files: inContext, csrfmiddlewaretoken: '' }, 403],
      ['/submit/reference/', { ...common, csrfmiddlewaretoken: 'forged' }, 403],
      ['/submit/mapping/', { ...common, csrfmiddlewaretoken: 'forged' }, 403],
      ['/create_contexts/', { ...common, rmaps: olderRmap, csrfmiddlewaretoken: 'forged' }, 403],
      ['/delete/reference/', { ...common, deleted_files: acsReference }, /^ERROR: '.*' is for instrument 'acs', but you are logged in for 'cos'\.$/],
      ['/delete/reference/', { ...common, deleted_files: inContext }, /is not in context 'hst_0729\.pmap': nothing to delete/],
      ['/delete/reference/', { ...common, pmap_text: pmapWithout, deleted_files: inContext }, /is not in context 'hst_\d+\.pmap': nothing to delete/],
      ['/add_existing/reference/', { ...common, pmap_text: pmapWith, added_files: inContext }, /is already in context 'hst_\d+\.pmap'/],
      ['/add_existing/reference/', { ...common, added_files: 'no_such_file.fits' }, /^ERROR: 'no_such_file\.fits' is not a catalogued reference\.$/],
      ['/delete/reference/', { ...common, deleted_files: '../../etc/passwd' }, /^ERROR: Invalid file name/],
      ['/delete/reference/', { ...common, pmap_text: '../x.pmap', deleted_files: inContext }, /^ERROR: Invalid context/],
      ['/create_contexts/', { ...common, rmaps: olderRmap }, /^ERROR: Only superusers may create contexts\.$/],
      ['/submit/mapping/', { ...common, generate_contexts: 'True' }, /^ERROR: Only \.rmap files may be submitted with 'generate contexts': 'hst_9999\.pmap'/, 'hst_9999.pmap'],
      ['/submit/mapping/', { ...common, generate_contexts: 'False' }, /^ERROR: Only superusers may submit a \.pmap/, 'hst_9999.pmap'],
      ['/submit/reference/', { ...common }, /is a mapping: submit mappings on \/submit\/mapping\//, 'hst_cos_xtractab_9999.rmap'],
      ['/submit/mapping/', { ...common, generate_contexts: 'True' }, /is not a mapping: submit references/, 'z1r1943el_1dx.fits'],
    ];
    for (const [page, form, expected, file] of refusals) {
      clearIngest('alice');
      if (file) placeIngest('alice', file, file.endsWith('.fits') ? cosVariant('h') : mappingText(CONTEXT));
      const r = await alice.post(page, form);
      if (typeof expected === 'number') expect([page, r.status]).toEqual([page, expected]);
      else expect([page, errorDiv(r.text)]).toEqual([page, expect.stringMatching(expected)]);
    }
    // Not logged in for an instrument (the lock given up at logout): the lock message, as batch submit.
    expect((await alice.post('/logout/', {})).status).toBe(302);
    const noLock = await loggedIn('alice');
    expect(errorDiv((await noLock.post('/delete/reference/', { ...common, deleted_files: inContext })).text)).toBe("ERROR: You can't access this function without logging in for a particular instrument.");
    expect({ files: await catalogCount(), workflows: await workflows(), edit: await editContext() }).toEqual(before);
    clearIngest('alice');
  });

  it('a file of another instrument on the simple forms ends the submission failed, nothing catalogued', async () => {
    const before = { files: await catalogCount(), edit: await editContext() };
    const acsImap = store.load(store.loadContext(CONTEXT).selections.get('acs')!) as unknown as { selections: ReadonlyMap<string, string> };
    const acsRmap = [...acsImap.selections.values()].find((n) => n.endsWith('.rmap') && (store.load(n) as unknown as { referenceNames(): string[] }).referenceNames().length > 1)!;
    const rmap = await newRmapOf(acsRmap);
    for (const [page, name, content, form] of [
      ['/submit/reference/', 'v8q14451j_idc.fits', acsVariant('w'), { auto_rename: 'True' }],
      ['/submit/mapping/', rmap.name, rmap.text, { generate_contexts: 'True' }],
    ] as const) {
      clearIngest('alice');
      placeIngest('alice', name, content);
      const alice = await loggedIn('alice', 'cos');
      const id = await submit(alice, page, { pmap_mode: 'pmap_edit', description: 'wrong instrument', compare_old_reference: 'False', ...form });
      const p = await waitForProgress(site, id, settled);
      expect([page, p.status, p.reason]).toEqual([page, 'failed', expect.stringMatching(/is for instrument 'acs', but you are logged in for 'cos'/)]);
    }
    expect({ files: await catalogCount(), edit: await editContext() }).toEqual(before);
    clearIngest('alice');
  });

  it("someone else cannot confirm a READY delete; the submitter cancels it and nothing is left", async () => {
    const before = { files: await catalogCount(), edit: await editContext() };
    const alice = await loggedIn('alice', 'cos');
    const id = await submit(alice, '/delete/reference/', { pmap_mode: 'pmap_text', pmap_text: pmapWith, deleted_files: inContext, description: 'to be cancelled' });
    const ready = await waitForProgress(site, id, settled);
    expect(ready.status).toBe('ready');
    await setGroup(site.db, 'cos-team', ['cos'], ['alice', 'bob']);
    const bob = await loggedIn('bob', 'none');
    const refused = await bob.post('/submit_confirm/', { results_id: id, button: 'confirm' });
    expect(errorDiv(refused.text)).toMatch(/Only 'alice', who submitted it, may confirm this submission/);
    expect((await waitForProgress(site, id, settled)).disposition).toBe('');
    const cancel = await alice.post('/submit_confirm/', { results_id: id, button: 'cancel' });
    expect(cancel.status).toBe(302);
    const p = await waitForProgress(site, id, (x) => x.status === 'cancelled');
    expect(p.disposition).toBe('cancelled');
    expect({ files: await catalogCount(), edit: await editContext() }).toEqual(before);
  });
});

/** axe-core in the page: no serious or critical violation. */
async function checkAccessibility(page: Page, what: string): Promise<void> {
  await page.evaluate(fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
  const violations = await page.evaluate<{ id: string; impact: string; nodes: unknown[] }[]>(
    `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.html) })))`,
  );
  expect([what, violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')]).toEqual([what, []]);
}

it('each new page in a real browser: its form, a refusal shown, accessible', async () => {
  const browser = await launchBrowser(work);
  try {
    const page = await browser.newPage();
    const login = async (username: string, instrument: string) => {
      await page.goto(`${url}/login/`);
      await page.fill('input[name=username]', username);
      await page.fill('input[name=password]', `${username}-password`);
      await page.selectOption('select[name=instrument]', instrument);
      await page.click('#login-form button[type=submit]');
      await page.waitForLoadState();
    };
    await login('alice', 'cos');
    for (const [where, form] of [
      ['/submit/reference/', '#submit-form'],
      ['/submit/mapping/', '#submit-form'],
      ['/delete/reference/', '#refactor-form'],
      ['/add_existing/reference/', '#refactor-form'],
    ] as const) {
      await page.goto(`${url}${where}`);
      expect(await page.getAttribute(form, 'action')).toBe(where);
      expect(await page.locator('#error_message').count()).toBe(0);
      await checkAccessibility(page, where);
    }
    // A refusal as the submitter sees it: a reference not in the context.
    await page.goto(`${url}/delete/reference/`);
    await page.check('input[name=pmap_mode][value=pmap_text]');
    await page.fill('input[name=pmap_text]', pmapWithout);
    await page.fill('textarea[name=deleted_files]', inContext);
    await page.fill('textarea[name=description]', 'from the browser');
    await page.click('#refactor-form button[type=submit]');
    await page.waitForLoadState();
    expect(await page.textContent('#error_message')).toMatch(/is not in context/);
    await checkAccessibility(page, 'refusal');
    // create_contexts: refused to alice (no form), the form for a superuser.
    await page.goto(`${url}/create_contexts/`);
    expect(await page.textContent('#error_message')).toMatch(/Only superusers/);
    expect(await page.locator('#refactor-form').count()).toBe(0);
    await page.context().clearCookies();
    await login('root', 'none');
    await page.goto(`${url}/create_contexts/`);
    expect(await page.getAttribute('#refactor-form', 'action')).toBe('/create_contexts/');
    expect(await page.locator('#error_message').count()).toBe(0);
    await checkAccessibility(page, '/create_contexts/');
  } finally {
    await browser.close();
  }
});
