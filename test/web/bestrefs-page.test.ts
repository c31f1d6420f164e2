// /bestrefs/ with an uploaded dataset file, on the real HST rules: the page's answer (its JSON
// twin) for a real raw dataset equals what the real library's server-side computation gives
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

/** The real library: the header it reads from the file, and the server's best references for it. */
function realAnswer(file: string): Record<string, string> {
  const script = [
    'import crds_env, json, sys',
    'from crds import data_file',
    "header = data_file.get_header(sys.argv[1], observatory='hst')",
    'print(json.dumps(crds_env.server_best_references(sys.argv[2], header)))',
  ].join('\n');
  const r = spawnSync(CRDS_PYTHON, ['-c', script, file, CONTEXT], { cwd: path.join(__dirname, '..', 'differential', 'oracle'), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Record<string, string>;
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

it('answers for an uploaded raw dataset what the real library computes for the same file', async () => {
  const web = new WebSession(site.url);
  await web.get('/bestrefs/');
  const reply = await upload(web, { name: 'j8bt05njq_raw.fits', data: fs.readFileSync(DATASET) });
  expect(reply.status).toBe(200);
  const ours = Object.fromEntries(reply.json<{ results: { filekind: string; reference: string }[] }>().results.map((r) => [r.filekind, r.reference]));
  const real = realAnswer(DATASET);
  expect(Object.keys(real).length).toBeGreaterThan(10);
  expect(ours).toEqual(real);
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
