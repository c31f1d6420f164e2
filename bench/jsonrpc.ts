// JSON-RPC and download benchmark of the web over loopback.
//
//   bench/jsonrpc [--seconds N] [--clients N] [--sync-mb N]
//
// Builds a throwaway site (SQLite catalog, or MariaDB when CRDS_TEST_MYSQL_URL is set) with
// the real HST rules imported by ops/init's code, starts the web as its own process (as
// ops/run does), then:
// * get_best_references: --clients concurrent keep-alive clients, each posting one header at a
//   time (headers generated from hst_0729's rules by gen-datasets' generator, all types);
// * get_file_info_map: the same for 20 named files with all fields;
//   both report requests per second and latency percentiles (p50, p90, p99, max);
// * crds sync: the real client fetching --sync-mb of references (8 files) into an empty cache,
//   MB/s beside a plain copy (cp) of the same files on the same disk.
// Goals (issue #4): ≥ 5,000 get_best_references/s with p99 < 10 ms; sync ≥ 90% of the copy.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { MappingStore } from '../crds';
import { openDatabase } from '../db';
import { importCache } from '../db/catalog-import';
import { generateHeaders } from '../ops/commands/gen-datasets';
import { CRDS_PYTHON, SHARED_DATA } from '../test/support/paths';
import { freePorts } from '../test/support/ports';
import { startProcess, stopProcess } from '../test/support/processes';

const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const SECONDS = opt('seconds', 10);
const CLIENTS = opt('clients', 64);
const SYNC_MB = opt('sync-mb', 256);
const CONTEXT = 'hst_0729.pmap';

interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  latenciesMs: number[];
}

/** `clients` loops, each posting the next body as soon as the previous answer arrived. */
async function load(url: string, bodies: string[], clients: number, seconds: number): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const latencies: number[] = [];
  let requests = 0;
  let errors = 0;
  let next = 0;
  const target = new URL(url);
  const deadline = performance.now() + seconds * 1000;
  const one = (body: string) =>
    new Promise<boolean>((resolve) => {
      const req = http.request(
        { host: target.hostname, port: target.port, path: '/json/', method: 'POST', agent, headers: { 'Content-Length': Buffer.byteLength(body) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(!JSON.parse(Buffer.concat(chunks).toString()).error));
        },
      );
      req.on('error', () => resolve(false));
      req.end(body);
    });
  const loop = async () => {
    while (performance.now() < deadline) {
      const body = bodies[next++ % bodies.length];
      const t0 = performance.now();
      const ok = await one(body);
      latencies.push(performance.now() - t0);
      requests++;
      if (!ok) errors++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, loop));
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  return { requests, errors, seconds: elapsed, latenciesMs: latencies.sort((a, b) => a - b) };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

function report(name: string, r: LoadResult): string {
  const l = r.latenciesMs;
  return `${name.padEnd(22)} ${String(Math.round(r.requests / r.seconds)).padStart(7)} req/s  p50 ${pct(l, 50).toFixed(2)} ms  p90 ${pct(l, 90).toFixed(2)} ms  p99 ${pct(l, 99).toFixed(2)} ms  max ${l[l.length - 1].toFixed(1)} ms  (${r.requests} requests, ${r.errors} errors, ${CLIENTS} clients, ${r.seconds.toFixed(1)} s)`;
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-bench-jsonrpc-'));
  let web: Awaited<ReturnType<typeof startProcess>> | undefined;
  try {
    // A source cache: the real HST mappings, plus SYNC_MB of references to sync (random bytes).
    const source = path.join(work, 'source');
    fs.mkdirSync(path.join(source, 'references', 'hst'), { recursive: true });
    fs.symlinkSync(path.join(SHARED_DATA, 'crds-cache', 'mappings'), path.join(source, 'mappings'));
    const syncFiles: string[] = [];
    for (let i = 0; i < 8; i++) {
      const name = `bench${String(i).padStart(4, '0')}j_drk.fits`;
      const fd = fs.openSync(path.join(source, 'references', 'hst', name), 'w');
      for (let mb = 0; mb < SYNC_MB / 8; mb++) fs.writeSync(fd, randomBytes(1 << 20));
      fs.closeSync(fd);
      syncFiles.push(name);
    }
    const databaseUrl = process.env.CRDS_TEST_MYSQL_URL ? await mysqlDatabase(process.env.CRDS_TEST_MYSQL_URL) : `sqlite:${path.join(work, 'crds.sqlite')}`;
    const fileCache = path.join(work, 'file_cache');
    const db = await openDatabase(databaseUrl);
    const t0 = performance.now();
    const imported = await importCache(db, { source, fileCache, observatory: 'hst', contexts: { latest: CONTEXT } });
    await db.close();
    console.log(`site: ${imported.mappings.added} mappings, ${imported.references.added} references imported in ${((performance.now() - t0) / 1000).toFixed(1)} s (${databaseUrl.split(':')[0]})`);

    const [port] = await freePorts(1);
    const url = `http://127.0.0.1:${port}`;
    web = await startProcess(
      'web/server.ts',
      { CRDS_OBSERVATORY: 'hst', CRDS_USECASE: 'local', CRDS_DATABASE_URL: databaseUrl, CRDS_FILE_CACHE: fileCache, PORT: String(port), CRDS_SITE_URL: url, TEMPORAL_ADDRESS: '127.0.0.1:1' },
      /site on/,
    );

    const store = new MappingStore(path.join(fileCache, 'mappings', 'hst'));
    const headers = Object.values(generateHeaders(store, CONTEXT, 2000, 1));
    const bestrefBodies = headers.map((h, i) => JSON.stringify({ jsonrpc: '1.0', method: 'get_best_references', params: [CONTEXT, h, null], id: `bench-${i}` }));
    const names = store.loadContext(CONTEXT).mappingNames();
    const infoBodies = Array.from({ length: 200 }, (_, i) =>
      JSON.stringify({ jsonrpc: '1.0', method: 'get_file_info_map', params: ['hst', names.slice((i * 7) % (names.length - 20), ((i * 7) % (names.length - 20)) + 20), null], id: `bench-info-${i}` }),
    );
    await load(url, bestrefBodies, 8, 2); // warm up: contexts loaded, JIT warm
    console.log(report('get_best_references', await load(url, bestrefBodies, CLIENTS, SECONDS)));
    console.log(report('get_file_info_map (20)', await load(url, infoBodies, CLIENTS, SECONDS)));

    // crds sync of the big references vs a plain copy of the same files.
    const env = { ...process.env, CRDS_PATH: path.join(work, 'client'), CRDS_SERVER_URL: url, CRDS_OBSERVATORY: 'hst', CRDS_MODE: 'auto' };
    const crds = path.join(path.dirname(CRDS_PYTHON), 'crds');
    const s0 = performance.now();
    const sync = spawnSync(crds, ['sync', '--files', ...syncFiles], { env, encoding: 'utf8' });
    const syncSeconds = (performance.now() - s0) / 1000;
    if (sync.status !== 0) throw new Error(`crds sync failed:\n${sync.stderr}`);
    const copyDir = path.join(work, 'copy');
    fs.mkdirSync(copyDir);
    const c0 = performance.now();
    const cp = spawnSync('cp', syncFiles.map((f) => path.join(source, 'references', 'hst', f)).concat(copyDir));
    const copySeconds = (performance.now() - c0) / 1000;
    if (cp.status !== 0) throw new Error('cp failed');
    const mb = SYNC_MB;
    console.log(
      `crds sync (${mb} MB, 8 files) ${(mb / syncSeconds).toFixed(0)} MB/s in ${syncSeconds.toFixed(2)} s (client verifies sizes and sha1s);  plain cp ${(mb / copySeconds).toFixed(0)} MB/s in ${copySeconds.toFixed(2)} s;  sync/copy ${((copySeconds / syncSeconds) * 100).toFixed(0)}%`,
    );
  } finally {
    await stopProcess(web);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** A fresh database on the test MariaDB for the benchmark. */
async function mysqlDatabase(server: string): Promise<string> {
  const { createConnection } = await import('mysql2/promise');
  const name = `crds_bench_${Date.now().toString(36)}`;
  const admin = await createConnection(server);
  await admin.query(`CREATE DATABASE \`${name}\``);
  await admin.end();
  return `${server.replace(/\/$/, '')}/${name}`;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

