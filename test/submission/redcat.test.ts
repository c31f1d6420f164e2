// Acceptance (issue #10 item 4, ReDCaT): the real client's rc_submit.Submission reads
// /submission_form/redcat_description.yml and validates fields against it, then the real
// `crds rc_submit --redcat-parameters` submits with --autoconfirm against the real web app,
// the real worker process, MariaDB with the real HST rules and a real SMTP receiver: the record
// is saved with its submission, mailed to CRDS_REDCAT_MAIL_TO, listed and shown escaped.
// Hostile posts are refused and change nothing; the form page passes axe-core in chromium.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { setGroup } from '../../db/accounts';
import { redcatRecords } from '../../db/redcat';
import { run } from '../jsonrpc/site';
import { CRDS_PYTHON } from '../support/paths';
import { checkAccessibility, launchBrowser } from '../support/browser';
import { errorDiv, WebSession } from '../web/web-session';
import { aliceClientEnv, cosVariant, placeCosVariant, runClientAsAlice, realCacheSubset, startWebSubmissionSite, waitForProgress, type SubmissionSite, type WebSubmissionSite } from './harness';

jest.setTimeout(240_000);

const HTML_TYPE = '<b>1dx</b> & "tables"';
const HTML_MODES = 'FUV <script>window.pwned = 1</script>';

let site: SubmissionSite;
let running: WebSubmissionSite | undefined;
let url: string;
let work: string;
let resultsId: string;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-redcat-'));
  // The rules of hst_0700 … hst_0729 and their references: enough here, a fraction of the import.
  realCacheSubset(path.join(work, 'cache'));
  running = await startWebSubmissionSite('redcat', 'redcat-test-secret', { host: 'localhost', site: { cache: path.join(work, 'cache'), env: { CRDS_REDCAT_MAIL_TO: 'redcat@test.example' } } });
  ({ site, web: { url } } = running);
});

afterAll(async () => {
  await running?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

// The client's Python API, with its site table pointed at this server (it knows only STScI's).
const SUBMISSION_SCRIPT = `
import json, sys, yaml
import crds.submit.rc_submit as rc
rc.BASE_URLS["test"]["hst"] = sys.argv[1] + "/"
s = rc.Submission("hst", "test")
refused = []
for key, value in [("instrument", "nircam"), ("useafter_matches", "maybe"), ("deliverer", ""), ("no_such_field", "x")]:
    try:
        s[key] = value
    except (ValueError, KeyError) as exc:
        refused.append(key)
s["deliverer"] = "Alice Test"
s["instrument"] = "COS"
s["file_type"] = sys.argv[3]
s["history_updated"] = True
s["useafter_matches"] = "yes"
s["calpipe_version"] = "calcos 3.4"
s["modes_affected"] = sys.argv[4]
s["correctness_testing"] = "compared with the table it replaces"
s["other_email"] = "team@test.example"
s["description"] = "COS 1dx ReDCaT delivery"
try:
    s.validate()
except rc.NoFilesSelected:
    refused.append("files")
with open(sys.argv[2], "w") as f:
    yaml.safe_dump(dict(s), f)
print(json.dumps({"refused": refused, "keys": sorted(s.keys()), "instrument": s["instrument"], "useafter": s["useafter_matches"], "compliance": s["compliance_verified"]}))
`;

it('rc_submit.Submission validates against the served description; crds rc_submit submits, saves, mails and links the record', async () => {
  const description = await fetch(`${url}/submission_form/redcat_description.yml`);
  expect(description.status).toBe(200);
  const cache = path.join(work, 'client-cache');
  fs.mkdirSync(cache);
  const params = path.join(work, 'redcat.yml');
  const script = path.join(work, 'submission.py');
  fs.writeFileSync(script, SUBMISSION_SCRIPT);
  const api = await run(CRDS_PYTHON, [script, url, params, HTML_TYPE, HTML_MODES], aliceClientEnv(url, cache));
  expect(api.stderr).not.toMatch(/Traceback/);
  expect(api.status).toBe(0);
  const seen = JSON.parse(api.stdout.trim().split('\n').pop()!) as { refused: string[]; keys: string[]; instrument: string; useafter: string; compliance: string };
  // Choices and required fields as the client enforces them from the description.
  expect(seen.refused).toEqual(['instrument', 'useafter_matches', 'deliverer', 'no_such_field', 'files']);
  expect(seen.instrument).toBe('cos');
  expect(seen.useafter).toBe('Yes');
  expect(seen.compliance).toBe('N/A'); // the initial, a string and not YAML 1.1's boolean
  expect(seen.keys).toContain('modes_affected');

  const file = path.join(work, 'z1r1943el_1dx.fits');
  fs.writeFileSync(file, cosVariant('r'));
  const args = [
    'rc_submit', '--files', file, '--redcat-parameters', params, '--description', 'COS 1dx ReDCaT delivery', '--creator', 'cos Team',
    '--change-level', 'SEVERE', '--wipe-existing-files', '--monitor-processing', '--wait-for-completion', '--autoconfirm',
  ];
  const output = await runClientAsAlice(url, cache, args);
  const completed = /COMPLETED: (http:\/\/localhost:\d+\/display_result\/([A-Za-z0-9:.-]+))\s/.exec(output);
  expect(completed).not.toBeNull();
  resultsId = completed![2]!;

  // The record, linked to the submission the client confirmed.
  const { records, total } = await redcatRecords(site.db, 10);
  expect(total).toBe(1);
  const record = records[0]!;
  expect(record).toMatchObject({ username: 'alice', instrument: 'cos', resultsId, changeLevel: 'SEVERE', description: 'COS 1dx ReDCaT delivery' });
  expect(record.fields).toMatchObject({ deliverer: 'Alice Test', instrument: 'cos', file_type: HTML_TYPE, modes_affected: HTML_MODES, history_updated: true, pedigree_updated: false, useafter_matches: 'Yes', compliance_verified: 'N/A' });
  const delivered = await waitForProgress(site, resultsId, (x) => !!x.delivery || x.status === 'failed' || x.status === 'cancelled');
  expect(delivered.disposition).toBe('confirmed');
  expect(delivered.description).toBe('COS 1dx ReDCaT delivery');

  // The record's mail: the submitter, its other_email and the ReDCaT list.
  const deadline = Date.now() + 15_000;
  const mail = () => site.mails.find((m) => m.subject.includes('ReDCaT submission'));
  while (!mail() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(mail()!.to.sort()).toEqual(['alice@test.example', 'redcat@test.example', 'team@test.example']);
  expect(mail()!.subject).toContain(`ReDCaT submission ${record.id}: cos`);
  // The body as sent, quoted-printable: soft line breaks and =XX escapes undone.
  const body = mail()!.text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  expect(body).toContain(`Record: ${url}/submission_form/${record.id}/`);
  // The submission's own mails (here the delivery's) lead to the record too.
  const delivery = () => site.mails.find((m) => m.subject.includes('submission DELIVERED'));
  while (!delivery() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const deliveredMail = delivery();
  expect(deliveredMail?.text.replace(/=\r?\n/g, '')).toMatch(new RegExp(`ReDCaT record: \\S+/submission_form/${record.id}/`));
  expect(body).toContain(`Result: ${url}/display_result/${resultsId}`);
  expect(body).toContain(`Which modes (e.g. all the STIS FUVMAMA E140L modes) are affected by the changes in the files\r\n  ${HTML_MODES}\r\n`);

  // The saved records: for logged-in users only, every field as text.
  const anonymous = await fetch(`${url}/submission_form/redcat_list/`, { redirect: 'manual' });
  expect(anonymous.status).toBe(302);
  expect(anonymous.headers.get('location')).toMatch(/^\/login\//);
  const web = new WebSession(url);
  await web.login('bob', 'bob-password');
  const list = await web.get('/submission_form/redcat_list/');
  expect(list.status).toBe(200);
  expect(list.text).toContain(`<a href="/submission_form/${record.id}/">${record.id}</a>`);
  expect(list.text).toContain('&lt;b&gt;1dx&lt;/b&gt; &amp; &#34;tables&#34;');
  const detail = await web.get(`/submission_form/${record.id}/`);
  expect(detail.status).toBe(200);
  expect(detail.text).toContain(`href="/display_result/${resultsId}"`);
  expect(detail.text).toContain('FUV &lt;script&gt;window.pwned = 1&lt;/script&gt;');
  expect(detail.text).not.toContain('<script>window.pwned');
  expect(detail.text).not.toContain('<b>1dx');
  expect((await web.get('/submission_form/999999/')).status).toBe(404);
  expect((await web.get('/submission_form/x1/')).status).toBe(404);
});

/** A complete, valid ReDCaT post for COS. */
const validForm = (): Record<string, string> => ({
  pmap_mode: 'pmap_edit',
  pmap_name: site.context,
  instrument: 'cos',
  change_level: 'SEVERE',
  creator: 'cos Team',
  description: 'COS 1dx ReDCaT delivery',
  auto_rename: 'True',
  compare_old_reference: 'True',
  deliverer: 'Alice Test',
  file_type: '1dx',
  useafter_matches: 'N/A',
  compliance_verified: 'Yes',
  calpipe_version: 'calcos 3.4',
  replacing_badfiles: 'No',
  modes_affected: 'FUV',
  correctness_testing: 'compared',
});

it('refuses hostile posts and changes nothing: no CSRF token, missing or bad fields, another instrument', async () => {
  const before = (await redcatRecords(site.db, 1)).total;
  const workflows = async () => (await site.client.workflow.count()).count;
  const workflowsBefore = await workflows();
  const alice = new WebSession(url);
  await alice.login('alice', 'alice-password', 'cos');
  placeCosVariant(site, 'alice', 's');

  expect((await alice.post('/submission_form/redcat_submit/', { ...validForm(), csrfmiddlewaretoken: '' })).status).toBe(403);
  const refusals: [Record<string, string>, RegExp][] = [
    [{ modes_affected: '', correctness_testing: ' ' }, /^ERROR: These fields are required: modes_affected, correctness_testing\.$/],
    [{ instrument: 'acs' }, /^ERROR: Field 'instrument' is 'acs' but you are logged in for 'cos'/],
    [{ instrument: 'nircam' }, /^ERROR: Field 'instrument': 'nircam' is not one of acs, cos/],
    [{ useafter_matches: 'maybe' }, /^ERROR: Field 'useafter_matches': 'maybe' is not one of N\/A, No, Yes\.$/],
    [{ other_email: 'a@b, <x>@evil' }, /^ERROR: Field 'other_email'/],
    [{ file_type: 'x'.repeat(2001) }, /^ERROR: Field 'file_type' is longer than 2000 characters\.$/],
  ];
  for (const [change, message] of refusals) {
    const reply = await alice.post('/submission_form/redcat_submit/', { ...validForm(), ...change });
    expect([reply.status, errorDiv(reply.text)]).toEqual([200, expect.stringMatching(message)]);
  }
  // The refused form comes back filled in, as text.
  const html = await alice.post('/submission_form/redcat_submit/', { ...validForm(), deliverer: '"><script>x()</script>', modes_affected: '' });
  expect(html.text).toContain('value="&#34;&gt;&lt;script&gt;x()&lt;/script&gt;"');

  // bob logged in for ACS; his group then stops submitting for ACS.
  await setGroup(site.db, 'acs-team', ['acs'], ['bob']);
  const bob = new WebSession(url);
  await bob.login('bob', 'bob-password', 'acs');
  placeCosVariant(site, 'bob', 't');
  await setGroup(site.db, 'acs-team', ['stis']);
  const foreign = await bob.post('/submission_form/redcat_submit/', { ...validForm(), instrument: 'acs' });
  expect(errorDiv(foreign.text)).toBe("ERROR: User 'bob' may not submit files for instrument 'acs'.");

  expect((await redcatRecords(site.db, 1)).total).toBe(before);
  expect(await workflows()).toBe(workflowsBefore);
  expect(fs.readdirSync(site.ingest('alice'))).toEqual(['z1r1943el_1dx.fits']);
  expect(site.mails.filter((m) => m.subject.includes('ReDCaT')).length).toBe(1);
});

it('shows the form, the list and the record in a real browser, accessible, with no script of the record run', async () => {
  let browser: BrowserContext | undefined;
  try {
    browser = await launchBrowser(work);
    const page = await browser.newPage();
    await page.goto(`${url}/submission_form/redcat_submit/`);
    await page.waitForURL(/\/login\//);
    await page.fill('input[name=username]', 'alice');
    await page.fill('input[name=password]', 'alice-password');
    await page.selectOption('select[name=instrument]', 'cos');
    await page.click('#login-form button[type=submit]');
    await page.waitForURL(`${url}/submission_form/redcat_submit/`);
    expect(await page.getAttribute('#submit-form', 'action')).toBe('/submission_form/redcat_submit/');
    expect(await page.locator('#redcat-instrument option').allTextContents()).toEqual(expect.arrayContaining(['', 'acs', 'cos', 'stis']));
    expect(await page.inputValue('#redcat-useafter_matches')).toBe('N/A');
    expect(await page.isChecked('#redcat-history_updated')).toBe(false);
    await checkAccessibility(page, 'redcat form');

    await page.goto(`${url}/submission_form/redcat_list/`);
    await checkAccessibility(page, 'redcat list');
    await page.click('#redcat-list a[href^="/submission_form/"]');
    await page.waitForURL(/\/submission_form\/\d+\/$/);
    expect(await page.textContent('#redcat-modes_affected td')).toBe(HTML_MODES);
    expect(await page.evaluate('window.pwned')).toBeUndefined();
    await checkAccessibility(page, 'redcat record');
    const recordUrl = page.url();
    await page.click('#redcat-result');
    await page.waitForURL(`${url}/display_result/${resultsId}`);
    // …and the result leads back to its ReDCaT record.
    expect(`${url}${await page.getAttribute('#submission-redcat a', 'href')}`).toBe(recordUrl);
  } finally {
    await browser?.close();
  }
});
