// mirror_server between two running sites (each its own port, database, Temporal namespace and
// task queue; the source on MariaDB, the mirror on SQLite as a developer's embedded site): a wrong token is refused and nothing is copied; the mirror's
// worker killed with SIGKILL mid-transfer resumes without fetching finished files again
// (downloads counted by a proxy in front of the source); the catalogs and files end identical.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BackupSummary } from '../../activities/backup';
import type { MirrorResult, OpsProgress } from '../../workflows/operations';
import { walkFiles } from '../../activities/ops-files';
import { stopProcess } from '../support/processes';
import { uniqueName } from '../support/services';
import { crossDialectRows, siteFiles, startOpsSite, subsetCache, tableRows, type OpsSite } from './ops-site';

jest.setTimeout(300_000);

const TOKEN = 'mirror-token-0123456789abcdef';
let cacheDir: string;
let source: OpsSite;
let target: OpsSite;
let proxy: http.Server;
let proxyUrl: string;
/** Downloads the source served through the proxy, by path. */
const downloads = new Map<string, number>();
let delayMs = 0;

beforeAll(async () => {
  cacheDir = subsetCache();
  source = await startOpsSite('msource', { source: cacheDir, env: { CRDS_MIRROR_TOKEN: TOKEN } });
  await source.client.workflow.execute<(i: { name: string }) => Promise<BackupSummary>>('backupWorkflow', {
    taskQueue: source.config.temporal.taskQueue,
    workflowId: uniqueName('backup'),
    args: [{ name: '2026-02-01T03-05-00Z' }],
  });
  const upstream = new URL(source.url);
  proxy = http.createServer((req, res) => {
    setTimeout(() => {
      const forward = http.request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
        if (up.statusCode === 200 && req.method === 'GET') downloads.set(req.url!, (downloads.get(req.url!) ?? 0) + 1);
        res.writeHead(up.statusCode!, up.headers);
        up.pipe(res);
      });
      forward.on('error', () => res.destroy());
      req.pipe(forward);
    }, delayMs);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  target = await startOpsSite('mtarget', { dialect: 'sqlite', worker: 'process', env: { CRDS_MIRROR_TOKEN: 'a-wrong-token-0123456789' } });
});

afterAll(async () => {
  await target?.close();
  proxy?.closeAllConnections();
  await new Promise((resolve) => proxy?.close(resolve));
  await source?.close();
  fs.rmSync(cacheDir, { recursive: true, force: true });
});

const mirror = (args: object) =>
  target.client.workflow.start('mirrorWorkflow', { taskQueue: target.config.temporal.taskQueue, workflowId: uniqueName('mirror'), args: [{ source: proxyUrl, ...args }] });

it('refuses a wrong token and copies nothing', async () => {
  const handle = await mirror({});
  const failure = await handle.result().then(
    () => '',
    (e: { cause?: { cause?: { message?: string } } }) => e.cause?.cause?.message ?? '',
  );
  expect(failure).toContain('the source refused its backup manifest (HTTP 403): wrong or missing mirror token');
  expect(downloads.size).toBe(0);
  expect(await target.db.models.CatalogFile.count()).toBe(0);
  expect(walkFiles(target.config.fileCache)).toEqual([]);
  expect(fs.existsSync(path.join(target.config.serverFiles, 'backups'))).toBe(false);
});

it('mirrors the source, resuming after its worker is killed mid-transfer without refetching', async () => {
  await stopProcess(target.workerProcess);
  await target.startWorkerProcess({ CRDS_MIRROR_TOKEN: TOKEN });
  delayMs = 25; // slow enough to kill the worker in the middle
  const parallel = 3;
  const handle = await mirror({ parallel, batchFiles: 20 });
  let progress: OpsProgress | undefined;
  for (const deadline = Date.now() + 120_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    progress = await handle.query<OpsProgress>('progress').catch(() => progress);
    if (progress && progress.phase === 'fetch' && progress.filesDone >= 60) break;
  }
  expect(progress!.filesDone).toBeLessThan(progress!.filesTotal / 2);
  await stopProcess(target.workerProcess, 'SIGKILL');
  await target.startWorkerProcess({ CRDS_MIRROR_TOKEN: TOKEN });
  delayMs = 0;
  const result = (await handle.result()) as MirrorResult;

  // Every file came once, but for at most the one in flight in each lane when the worker died.
  const fetchedTwice = [...downloads.entries()].filter(([, n]) => n > 1);
  expect(fetchedTwice.length).toBeLessThanOrEqual(parallel);
  expect(fetchedTwice.every(([, n]) => n === 2)).toBe(true);
  const fileDownloads = [...downloads.keys()].filter((p) => !p.endsWith('manifest.json'));
  expect(fileDownloads.length).toBe(progress!.filesTotal);
  expect(result.fetched + result.skipped).toBeGreaterThanOrEqual(progress!.filesTotal);

  expect(crossDialectRows(await tableRows(target.db))).toEqual(crossDialectRows(await tableRows(source.db)));
  expect(await siteFiles(target.config)).toEqual(await siteFiles(source.config));
  expect(result.consistency.findings.filter((f) => f.check !== 'incomplete-closure')).toEqual([]);
  const rpc = await fetch(`${target.url}/json/`, { method: 'POST', body: JSON.stringify({ jsonrpc: '1.0', method: 'get_default_context', params: ['hst', null], id: 1 }) });
  expect(((await rpc.json()) as { result: string }).result).toBe('hst_0729.pmap');
});
