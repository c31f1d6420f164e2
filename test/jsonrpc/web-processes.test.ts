// CRDS_WEB_PROCESSES=2: web/server.ts forks two web processes sharing the port; both answer
// JSON-RPC from the catalog, a killed one is replaced, SIGTERM stops them all.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDatabase } from '../../db';
import { importCache } from '../../db/catalog-import';
import { freePorts } from '../support/ports';
import { startProcess, stopProcess, type Started } from '../support/processes';
import { freshSqliteDatabase } from '../support/services';
import { DEMO_CACHE } from './site';

jest.setTimeout(120_000);

/** The web processes forked by `pid` (not other children, like tsx's esbuild service). */
const children = (pid: number): number[] =>
  fs
    .readdirSync(`/proc/${pid}/task`)
    .flatMap((t) => fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number))
    .filter((child) => {
      try {
        return fs.readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('web/server.ts');
      } catch {
        return false; // gone meanwhile
      }
    });

it('two web processes answer on one port; a dead one is replaced; SIGTERM stops all', async () => {
  const target = freshSqliteDatabase();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-procs-'));
  let web: Started | undefined;
  try {
    const db = await openDatabase(target.url);
    await importCache(db, { source: DEMO_CACHE, fileCache: path.join(work, 'cache'), observatory: 'hst' });
    await db.close();
    const [port] = await freePorts(1);
    const env = { CRDS_OBSERVATORY: 'hst', CRDS_USECASE: 'local', CRDS_DATABASE_URL: target.url, CRDS_FILE_CACHE: path.join(work, 'cache'), PORT: String(port), CRDS_SITE_URL: `http://127.0.0.1:${port}`, TEMPORAL_ADDRESS: '127.0.0.1:1', CRDS_WEB_PROCESSES: '2' };
    web = await startProcess('web/server.ts', env, /site on[^]*site on/);
    const rpc = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/json/`, { method: 'POST', body: JSON.stringify({ jsonrpc: '1.0', method: 'get_default_context', params: ['hst', null], id: 1 }) });
      return ((await res.json()) as { result: unknown }).result;
    };
    expect(children(web.child.pid!)).toHaveLength(2);
    for (let i = 0; i < 10; i++) expect(await rpc()).toBe('hst_0002.pmap');
    const [first] = children(web.child.pid!);
    process.kill(first, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (let i = 0; i < 10; i++) expect(await rpc()).toBe('hst_0002.pmap'); // the survivor answers meanwhile
    const deadline = Date.now() + 60_000;
    while (!(children(web.child.pid!).length === 2 && !children(web.child.pid!).includes(first)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(children(web.child.pid!)).toHaveLength(2);
    expect(web.output()).toMatch(/exited \(SIGKILL\); starting another/);
    web.child.kill('SIGTERM');
    expect(await web.exited).toBe(0);
  } finally {
    await stopProcess(web, 'SIGKILL');
    await target.drop();
    fs.rmSync(work, { recursive: true, force: true });
  }
});
