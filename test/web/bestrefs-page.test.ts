// /bestrefs/ with an uploaded dataset file, on the real HST rules: the page's answer (its JSON
// twin) for real datasets equals what the real library's server-side computation gives
// for the header the real library reads from the same file; bad uploads and forms are refused.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { subsetCache } from '../affected/harness';
import { startSite, type Site } from '../jsonrpc/site';
import { CRDS_PYTHON, TESTDATA } from '../support/paths';
import { multipart, WebSession } from './web-session';

jest.setTimeout(180_000);

const CONTEXT = 'hst_0729.pmap';
const DATASET = path.join(TESTDATA, 'hst', 'j8bt05njq_raw.fits');
let site: Site;
let source: string;

beforeAll(async () => {
  source = subsetCache([CONTEXT]);
  site = await startSite({ observatory: 'hst', source, contexts: { latest: CONTEXT, edit: CONTEXT } });
});
afterAll(async () => {
  await site?.close();
  fs.rmSync(source, { recursive: true, force: true });
});

/** The real library, per file: the header it reads (every HDU's keywords) and the server's best references for it. */
function realAnswers(files: string[]): { header: Record<string, string>; best: Record<string, string> }[] {
  const script = [
    'import crds_env, json, sys',
    'from crds import data_file',
    'for f in sys.argv[2:]:',
    "    header = data_file.get_header(f, observatory='hst')",
    "    print(json.dumps({'header': header, 'best': crds_env.server_best_references(sys.argv[1], header)}))",
  ].join('\n');
  const r = spawnSync(CRDS_PYTHON, ['-c', script, CONTEXT, ...files], { cwd: path.join(__dirname, '..', 'differential', 'oracle'), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { header: Record<string, string>; best: Record<string, string> });
}

async function upload(web: WebSession, file: { name: string; data: Buffer }, fields: Record<string, string> = {}) {
  const form = multipart([
    { name: 'csrfmiddlewaretoken', data: web.cookies.get('csrftoken') ?? '' },
    { name: 'context', data: CONTEXT },
    ...Object.entries(fields).map(([name, data]) => ({ name, data })),
    { name: 'dataset', filename: file.name, data: file.data },
  ]);
  return web.request('/bestrefs/', { method: 'POST', body: form.body, headers: { 'content-type': form.contentType, accept: 'application/json' } });
}

it('answers for uploaded datasets what the real library computes for the same files, from every HDU\'s keywords', async () => {
  const files = ['j8bt05njq_raw.fits', 'j8bt06o6q_raw.fits', 'cos_N8XTZCAWQ.fits'].map((n) => path.join(TESTDATA, 'hst', n));
  const real = realAnswers(files);
  const web = new WebSession(site.url);
  await web.get('/bestrefs/');
  for (const [i, file] of files.entries()) {
    const reply = await upload(web, { name: path.basename(file), data: fs.readFileSync(file) });
    expect(reply.status).toBe(200);
    const body = reply.json<{ header: Record<string, string>; results: { filekind: string; reference: string }[] }>();
    // The keywords of the extensions too (the raw ACS files carry 66 beyond their primary header).
    for (const [key, value] of Object.entries(real[i]!.header)) expect([key, body.header[key]]).toEqual([key, String(value)]);
    expect(Object.keys(real[i]!.best).length).toBeGreaterThan(10);
    expect(Object.fromEntries(body.results.map((r) => [r.filekind, r.reference]))).toEqual(real[i]!.best);
  }
});

it('refuses a file that is not FITS, a missing CSRF token and an unknown context, with a clear message', async () => {
  const web = new WebSession(site.url);
  await web.get('/bestrefs/');
  const notFits = await upload(web, { name: 'notes.txt', data: Buffer.from('hello\n'.repeat(100)) });
  expect(notFits.status).toBe(400);
  expect(notFits.json<{ message: string }>().message).toContain('the file is not FITS');
  const anonymous = new WebSession(site.url);
  const noToken = await upload(anonymous, { name: 'j8bt05njq_raw.fits', data: fs.readFileSync(DATASET) });
  expect(noToken.status).toBe(403);
  const form = multipart([
    { name: 'csrfmiddlewaretoken', data: web.cookies.get('csrftoken') ?? '' },
    { name: 'context', data: 'hst_9999.pmap' },
    { name: 'header', data: 'INSTRUME = ACS' },
  ]);
  const unknown = await web.request('/bestrefs/', { method: 'POST', body: form.body, headers: { 'content-type': form.contentType, accept: 'application/json' } });
  expect(unknown.status).toBe(400);
  expect(unknown.json<{ error: string }>().error).toContain("No context named 'hst_9999.pmap' in the catalog.");
});
