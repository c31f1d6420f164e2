// Issue #10, the other submission kinds, on the real web app, the real worker process,
// MariaDB with the real HST rules and a real SMTP receiver: certify-only with the real
// `crds submit --submission-kind certify`, Mark Files Bad from the web (mail, bad_files_list),
// both pages in a real browser, and hostile posts to each (missing CSRF, wrong instrument,
// unknown files, a file of the latest context) refused with nothing changed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { MappingStore } from '../../crds';
import { CRDS_CLI, run } from '../jsonrpc/site';
import { launchBrowser } from '../support/browser';
import { errorDiv, WebSession } from '../web/web-session';
import { ABORT_MESSAGE } from '../../workflows/submission-types';
import { setGroup } from '../../db/accounts';
import { CONTEXT, cosVariant, lockFor, placeCosVariant, realCacheSubset, request, startSubmissionSite, startWebApp, startWorkerInProcess, waitForProgress, type SubmissionSite, type WebApp } from './harness';

jest.setTimeout(300_000);

let site: SubmissionSite;
let worker: { close(): Promise<void> } | undefined;
let web: WebApp | undefined;
let url: string;
let work: string;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-kinds-'));
  realCacheSubset(path.join(work, 'cache'));
  site = await startSubmissionSite('kinds', { cache: path.join(work, 'cache') });
  await setGroup(site.db, 'cos-team', ['cos'], ['alice']);
  worker = await startWorkerInProcess(site);
  web = await startWebApp(site, 'kinds-test-secret', { host: 'localhost' });
  url = web.url;
});

afterAll(async () => {
  await worker?.close();
  await web?.close();
  await site?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const catalogCount = () => site.db.models.CatalogFile.count();
const badFiles = async (): Promise<string[]> => {
  const res = await fetch(`${url}/json/`, { method: 'POST', body: JSON.stringify({ jsonrpc: '1.0', method: 'get_server_info', params: [], id: 1 }) });
  return ((await res.json()) as { result: { bad_files_list: string[] } }).result.bad_files_list;
};
async function mailTo(subject: RegExp): Promise<{ subject: string; text: string; to: string[] }> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const m = site.mails.find((x) => subject.test(x.subject));
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`no mail ${subject}: ${site.mails.map((x) => x.subject).join(' | ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

it('crds submit --submission-kind certify certifies the files and catalogues nothing', async () => {
  const file = path.join(work, 'z1r1943el_1dx.fits');
  fs.writeFileSync(file, cosVariant('c'));
  const cache = fs.mkdtempSync(path.join(work, 'client-cache-'));
  const before = await catalogCount();
  const env = { CRDS_SERVER_URL: url, CRDS_OBSERVATORY: 'hst', CRDS_PATH: cache, CRDS_USERNAME: 'alice', MAST_API_TOKEN: 'alice-password', NO_PROXY: 'localhost,127.0.0.1' };
  const result = await run(CRDS_CLI, ['submit', '--files', file, '--submission-kind', 'certify', '--wipe-existing-files', '--monitor-processing', '--wait-for-completion'], env);
  const output = result.stdout + result.stderr;
  expect(output).not.toMatch(/ERROR|Traceback/);
  expect(result.status).toBe(0);
  const completed = /COMPLETED: (http:\/\/localhost:\d+\/display_result\/([A-Za-z0-9:.-]+))\s/.exec(output);
  expect(completed).not.toBeNull();
  expect(output).toMatch(/Certified 'z1r1943el_1dx.fits'/);
  const p = await waitForProgress(site, completed![2]!, (x) => x.status === 'certified' || x.status === 'failed');
  expect(p).toMatchObject({ kind: 'certify', status: 'certified', context: { derivedFrom: CONTEXT } });
  expect(p.steps.map((s) => [s.name, s.status])).toEqual([['ingest', 'done'], ['certify', 'done']]);
  expect(p.files.map((f) => [f.uploadedAs, f.certify!.errors, f.name])).toEqual([['z1r1943el_1dx.fits', 0, undefined]]);
  expect(await catalogCount()).toBe(before);
  // Results are the submitter's (and their group's): alice reads hers logged in.
  const alice = new WebSession(url);
  await alice.login('alice', 'alice-password');
  const page = await alice.get(new URL(completed![1]!).pathname);
  const html = page.text;
  expect(page.status).toBe(200);
  expect(html).toContain('data-status="certified"');
  expect(errorDiv(html)).toBeUndefined();
  const mail = await mailTo(/submission CERTIFIED/);
  expect(mail.text).toContain(completed![2]!); // the result URL (quoted-printable may wrap it)

  // A certify failure is reported as failed (the client exits non-zero), nothing catalogued.
  fs.truncateSync(file, 5000);
  const failed = await run(CRDS_CLI, ['submit', '--files', file, '--submission-kind', 'certify', '--wipe-existing-files', '--monitor-processing', '--wait-for-completion'], env);
  expect(failed.status).not.toBe(0);
  expect(failed.stdout + failed.stderr).toMatch(/Certify failed for 'z1r1943el_1dx.fits'/);
  expect(await catalogCount()).toBe(before);
});

it('refuses a certify post without the CSRF token and starts nothing', async () => {
  const web = new WebSession(url);
  await web.login('bob', 'bob-password');
  const workflows = async () => {
    let n = 0;
    for await (const _ of site.client.workflow.list({ query: `CrdsSubmitter = 'bob'` })) n++;
    return n;
  };
  const refused = await web.post('/certify/', { pmap_mode: 'pmap_edit', csrfmiddlewaretoken: 'forged' });
  expect(refused.status).toBe(403);
  expect(await workflows()).toBe(0);
  const empty = await web.post('/certify/', { pmap_mode: 'pmap_edit' });
  expect(errorDiv(empty.text)).toBe('ERROR: No input files were specified.');
  const badContext = await web.post('/certify/', { pmap_mode: 'pmap_text', pmap_text: '../etc/passwd' });
  expect(errorDiv(badContext.text)).toMatch(/^ERROR: Invalid context/);
  expect(await workflows()).toBe(0);
});

describe('mark files bad from the web', () => {
  // A COS rmap of an older context, not in the latest one: markable. An ACS one: not alice's instrument.
  let cosRmap: string;
  let acsRmap: string;
  let inLatest: string;
  beforeAll(async () => {
    const store = new MappingStore(path.join(site.config.fileCache, 'mappings', 'hst'), { ignoreChecksum: 'warn' });
    const latest = new Set(store.loadContext(CONTEXT).mappingNames());
    const rows = await site.db.models.CatalogFile.findAll({ attributes: ['name', 'instrument'], where: { type: 'mapping' }, order: [['name', 'ASC']] });
    cosRmap = rows.find((r) => r.instrument === 'cos' && r.name.endsWith('.rmap') && !latest.has(r.name))!.name;
    acsRmap = rows.find((r) => r.instrument === 'acs' && r.name.endsWith('.rmap') && !latest.has(r.name))!.name;
    inLatest = [...latest].find((n) => n.startsWith('hst_cos_') && n.endsWith('.rmap'))!;
  });

  it('refuses hostile posts and changes nothing', async () => {
    const web = new WebSession(url);
    await web.login('alice', 'alice-password', 'cos');
    const audits = await site.db.models.AuditRecord.count();
    const refusals: [Record<string, string>, RegExp | number][] = [
      [{ file_known: cosRmap, badflag: 'bad', why: 'broken', csrfmiddlewaretoken: '' }, 403],
      [{ file_known: acsRmap, badflag: 'bad', why: 'broken' }, /^ERROR: User 'alice' may not mark files of instrument 'acs'/],
      [{ file_known: `${cosRmap} no_such_file.rmap`, badflag: 'bad', why: 'broken' }, /^ERROR: File 'no_such_file.rmap' is not known to CRDS\.$/],
      [{ file_known: inLatest, badflag: 'bad', why: 'broken' }, /is in the latest context/],
      [{ file_known: '../../etc/passwd', badflag: 'bad', why: 'broken' }, /^ERROR: Invalid file name/],
      [{ file_known: cosRmap, badflag: 'worse', why: 'broken' }, /^ERROR: Invalid badflag/],
      [{ file_known: cosRmap, badflag: 'bad', why: '<script>' }, /^ERROR: Invalid reason/],
    ];
    for (const [form, expected] of refusals) {
      const r = await web.post('/mark_bad/', form);
      if (typeof expected === 'number') expect(r.status).toBe(expected);
      else expect(errorDiv(r.text)).toMatch(expected);
    }
    const anonymous = await new WebSession(url).post('/mark_bad/', { file_known: cosRmap, badflag: 'bad', why: 'broken' });
    expect(anonymous.status).toBeGreaterThanOrEqual(300);
    expect(await badFiles()).toEqual([]);
    expect(await site.db.models.AuditRecord.count()).toBe(audits);
  });

  it('marks a file bad in a real browser: shown in bad_files_list, mailed; then ok again', async () => {
    const browser: BrowserContext = await launchBrowser(work);
    try {
      const page = await browser.newPage();
      await page.goto(`${url}/mark_bad/`);
      await page.waitForURL(/\/login\//);
      await page.fill('input[name=username]', 'alice');
      await page.fill('input[name=password]', 'alice-password');
      await page.selectOption('select[name=instrument]', 'cos');
      await page.click('#login-form button[type=submit]');
      await page.waitForURL(`${url}/mark_bad/`);
      await page.fill('textarea[name=file_known]', cosRmap);
      await page.fill('textarea[name=why]', 'wrong rows');
      await page.click('#mark-bad-form button[type=submit]');
      expect(await page.textContent('#mark-bad-result code.rejected')).toBe(cosRmap);
      expect(await badFiles()).toEqual([cosRmap]);
      const mail = await mailTo(/^Marked Files BAD by alice\.$/);
      expect(mail.text).toContain(cosRmap);
      expect(mail.text).toContain('wrong rows');
      expect(mail.to.sort()).toEqual(['alice@test.example', 'datamng@test.example']);

      await page.fill('textarea[name=file_known]', cosRmap);
      await page.check('input[name=badflag][value=ok]');
      await page.fill('textarea[name=why]', 'fixed after all');
      await page.click('#mark-bad-form button[type=submit]');
      expect(await page.textContent('#mark-bad-result code.cleared')).toBe(cosRmap);
      expect(await badFiles()).toEqual([]);

      // The certify page: the upload widget and a form posting to /certify/ without the submission fields.
      await page.goto(`${url}/certify/`);
      expect(await page.getAttribute('#submit-form', 'action')).toBe('/certify/');
      expect(await page.locator('#submit-form textarea[name=description]').count()).toBe(0);
      expect(await page.locator('#upload-files').count()).toBe(1);
      expect(await page.locator('#error_message').count()).toBe(0);
    } finally {
      await browser.close();
    }
  });
});

describe('JSON-RPC about submissions', () => {
  const rpc = async (method: string, params: unknown[]) => {
    const res = await fetch(`${url}/json/`, { method: 'POST', body: JSON.stringify({ jsonrpc: '1.0', method, params, id: 1 }) });
    return (await res.json()) as { result?: unknown; error?: { name: string; message: string } };
  };

  it('jpoll_abort stops a ready submission cleanly: nothing of it is left, its channel ends with the reason', async () => {
    fs.rmSync(site.ingest('alice'), { recursive: true, force: true });
    placeCosVariant(site, 'alice', 'a');
    const before = await catalogCount();
    const lock = await lockFor(site, 'alice', 'cos');
    const { resultsId } = await site.service.startSubmission(request(site, 'alice', lock, 'abort-me-1'));
    await waitForProgress(site, resultsId, (x) => x.status === 'ready' || x.status === 'failed');
    expect(await catalogCount()).toBeGreaterThan(before);
    expect(await rpc('jpoll_abort', [resultsId])).toMatchObject({ result: true, error: null });
    const p = await waitForProgress(site, resultsId, (x) => x.status === 'failed');
    expect(p.reason).toBe(ABORT_MESSAGE);
    // Its jpoll stream had ended at READY's done; the progress ends with the abort's.
    expect(p.messages[p.messages.length - 1]).toMatchObject({ type: 'done', data: { status: 1, result: ABORT_MESSAGE } });
    expect(p.steps.find((s) => s.name === 'confirm')).toMatchObject({ status: 'failed', detail: ABORT_MESSAGE });
    expect(await catalogCount()).toBe(before);
    // Finished: a second abort changes nothing; an unknown channel is the client's "not found".
    expect((await rpc('jpoll_abort', [resultsId])).result).toBe(false);
    expect((await rpc('jpoll_abort', ['no-such-channel'])).error?.message).toMatch(/Channel key 'no-such-channel' not found/);
  });

  it('get_submission_info and get_delivery_status', async () => {
    const info = (await rpc('get_submission_info', ['hst', 'alice'])).result as { submission_kinds: string[]; ingest_dir: string };
    expect(info.submission_kinds).toEqual(expect.arrayContaining(['batch_submit_references', 'submit_reference', 'delete_references', 'create_contexts', 'redcat_submit', 'certify', 'mark_bad']));
    expect(info.ingest_dir.endsWith(`:${site.ingest('alice')}`)).toBe(true);
    expect((await rpc('get_submission_info', ['hst', 'mallory'])).error?.name).toBe('InvalidUserError');
    expect((await rpc('get_submission_info', ['jwst', 'alice'])).error).toBeTruthy();

    // A delivery as deliverSubmission records it: its catalog and the audit record naming it.
    const [ref] = await site.db.models.CatalogFile.findAll({ where: { type: 'mapping' }, limit: 1 });
    fs.mkdirSync(path.join(site.config.serverFiles, 'catalogs'), { recursive: true });
    fs.writeFileSync(path.join(site.config.serverFiles, 'catalogs', 'opus_77_i.cat'), `${ref!.name}\n`);
    await site.db.models.AuditRecord.create({
      date: new Date('2026-01-02T03:04:05Z'), username: 'alice', action: 'batch submit', filename: 'opus_77_i.cat',
      observatory: 'hst', instrument: ref!.instrument, filekind: ref!.filekind, why: 'a delivery', details: {},
    });
    const rows = (await rpc('get_delivery_status', ['2026-01-01'])).result as Record<string, unknown>[];
    expect(rows).toEqual([{ date: '2026-01-02 03:04:05.000', action: 'batch submit', user: 'alice', description: 'a delivery', files: [ref!.name], catalog: 'opus_77_i.cat', status: ref!.state }]);
    expect((await rpc('get_delivery_status', ['2026-01-03'])).result).toEqual([]);
    expect((await rpc('get_delivery_status', ["2026-01-01'; DROP TABLE"])).error?.name).toBe('InvalidDateFormat');
  });
});

describe('/set_password/', () => {
  it('changes the password of the logged-in user only after every check, and the new one logs in', async () => {
    const web = new WebSession(url);
    await web.login('bob', 'bob-password');
    const hash = async () => (await site.db.models.User.findOne({ where: { username: 'bob' } }))!.passwordHash;
    const before = await hash();
    const refusals: [Record<string, string>, RegExp | number][] = [
      [{ old_password: 'bob-password', new_password1: 'a-long-new-password', new_password2: 'a-long-new-password', csrfmiddlewaretoken: 'forged' }, 403],
      [{ old_password: 'not-bobs', new_password1: 'a-long-new-password', new_password2: 'a-long-new-password' }, /current password is not correct/],
      [{ old_password: 'bob-password', new_password1: 'short', new_password2: 'short' }, /must have 12 to 1024 characters/],
      [{ old_password: 'bob-password', new_password1: 'a-long-new-password', new_password2: 'another-long-one' }, /differ/],
    ];
    for (const [form, expected] of refusals) {
      const r = await web.post('/set_password/', form);
      if (typeof expected === 'number') expect(r.status).toBe(expected);
      else expect(errorDiv(r.text)).toMatch(expected);
    }
    expect((await new WebSession(url).post('/set_password/', { old_password: 'bob-password', new_password1: 'x'.repeat(20), new_password2: 'x'.repeat(20) })).status).toBeGreaterThanOrEqual(300);
    expect(await hash()).toBe(before);
    const ok = await web.post('/set_password/', { old_password: 'bob-password', new_password1: 'a-long-new-password', new_password2: 'a-long-new-password' });
    expect(ok.text).toContain('id="password-changed"');
    expect(errorDiv(ok.text)).toBeUndefined();
    const again = new WebSession(url);
    expect((await again.login('bob', 'a-long-new-password')).status).toBe(302);
    expect(errorDiv((await new WebSession(url).login('bob', 'bob-password')).text)).toBe('ERROR: Invalid user name or password.');
  });
});
