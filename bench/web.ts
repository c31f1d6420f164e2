// Latency of the browsing pages (issue #14) on a real-sized catalog.
//
//   bench/web [--rows N] [--seconds S] [--clients C] [--keep NAME] [--web-processes N]
//
// Imports the real HST catalog (every context of ../shared/data/crds-cache) into a fresh
// MariaDB database, adds N (default 1,000,000) generated reference rows, starts the web as
// ops/run does (ops/serve web), warms it up, then runs C (default 16) concurrent keep-alive
// clients for S seconds per page kind and prints p50/p90/p99: the search page (a few filter
// and sort variants), a file page (real mappings and generated references) and a context
// table (the 20 newest contexts). Baseline: a static file (/static/style.css) under the same
// load, the floor of this web on this machine. Goal: p99 < 100 ms for each page.
// CPU per request: the web process's and MariaDB's CPU time (/proc) over the run, divided by
// the requests answered. --keep NAME keeps the database (crds_bench_web_NAME) and its file
// cache under ${TMPDIR}/crds-bench-web-NAME: the next run with the same NAME and --rows skips
// the import and the row generation (minutes for 1,000,000 rows); new migrations still apply.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDatabase } from '../db';
import { importCache } from '../db/catalog-import';
import { bumpGeneration } from '../db/catalog';
import { SHARED_DATA } from '../test/support/paths';
import { freePorts } from '../test/support/ports';
import { buildOnce, processTree, startProcess, stopProcess } from '../test/support/processes';
import { freshMysqlDatabase, type TestDatabase } from '../test/support/services';
import { createConnection } from 'mysql2/promise';

const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const ROWS = opt('rows', 1_000_000);
const SECONDS = opt('seconds', 10);
const CLIENTS = opt('clients', 16);
/** Web processes sharing the port (CRDS_WEB_PROCESSES), as a site on this many cores would run. */
const WEB_PROCESSES = opt('web-processes', 1);
const KEEP = args.includes('--keep') ? args[args.indexOf('--keep') + 1] ?? '' : undefined;
if (KEEP !== undefined && !/^[A-Za-z0-9_]+$/.test(KEEP)) throw new Error('--keep NAME: letters, digits and _ only');
const INSTRUMENTS = ['acs', 'cos', 'stis', 'wfc3', 'nicmos', 'wfpc2', 'fos', 'ghrs', 'foc', 'synphot'];
const KINDS = ['biasfile', 'darkfile', 'pfltfile', 'flshfile', 'crrejtab', 'idctab', 'dgeofile', 'mdriztab', 'oscntab', 'ccdtab', 'atodtab', 'bpixtab', 'lfltfile', 'spottab', 'xtractab', 'tdstab', 'fluxtab', 'wcptab', 'lamptab', 'disptab'];
const STATES = ['archived', 'archived', 'archived', 'delivered', 'uploaded', 'archiving', 'submitted'];

const WORDS = ['dark', 'bias', 'flat', 'new', 'updated', 'calibration', 'reference', 'for', 'detector', 'anneal', 'cycle', 'correction', 'table', 'ccd', 'amp'];

/**
 * N generated reference rows in one INSERT … SELECT over MariaDB's sequence engine (seq_1_to_N):
 * instruments, types, states, dates and description words spread pseudo-randomly by hashes of
 * the row number; 1% bad.
 */
export async function generateRows(db: Awaited<ReturnType<typeof openDatabase>>, count: number): Promise<void> {
  const list = (values: string[]) => values.map((v) => db.sequelize.escape(v)).join(',');
  const pick = (values: string[], salt: number) => `ELT(1 + CRC32(CONCAT(seq, '${salt}')) % ${values.length}, ${list(values)})`;
  const words = Array.from({ length: 6 }, (_, i) => pick(WORDS, 10 + i)).join(", ' ', ");
  const delivered = `TIMESTAMPADD(SECOND, CRC32(CONCAT(seq, 'd')) % 978307200, '1995-01-01')`;
  await db.sequelize.query(
    `INSERT INTO catalog_files (name,state,rejected,blacklisted,observatory,instrument,filekind,type,deliverer_user,size,delivery_date,activation_date,useafter_date,description,created_at,updated_at)
     SELECT CONCAT('g', LPAD(seq, 7, '0'), '_', LEFT(${pick(KINDS, 2)}, 3), '.fits'), ${pick(STATES, 3)}, CRC32(CONCAT(seq, 'b')) % 100 = 0, 0, 'hst',
            ${pick(INSTRUMENTS, 1)}, ${pick(KINDS, 2)}, 'reference', 'bench', CRC32(CONCAT(seq, 's')) % 100000000,
            ${delivered}, ${delivered}, TIMESTAMPADD(SECOND, -(CRC32(CONCAT(seq, 'u')) % 100000000), ${delivered}),
            CONCAT(${words}), NOW(), NOW()
     FROM seq_1_to_${Math.floor(count)}`,
  );
  await bumpGeneration(db);
}

interface Result {
  requests: number;
  errors: number;
  seconds: number;
  latencies: number[];
  /** CPU ms per request of the web process and of MariaDB (when its pid is known) */
  cpu: { web: number; mariadb?: number };
}

/** CPU time (ms, user + system) one process used so far, from /proc/PID/stat. */
const ownCpuMs = (pid: number): number => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
};

/** CPU time (ms) a process and its descendants (the web's cluster workers) used so far; undefined once it is gone. */
function cpuMs(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const own = ownCpuMs(pid);
    return processTree(pid)
      .slice(1)
      .reduce((sum, child) => {
        try {
          return sum + ownCpuMs(child);
        } catch {
          return sum; // gone meanwhile
        }
      }, own);
  } catch {
    return undefined;
  }
}

const pids: { web?: number; mariadb?: number } = {};

/** A kept database: made when missing, never dropped. */
async function keptDatabase(name: string, reuse: boolean): Promise<TestDatabase> {
  const server = (process.env.CRDS_TEST_MYSQL_URL ?? '').replace(/\/$/, '');
  if (!server) throw new Error('CRDS_TEST_MYSQL_URL is not set: run through bench/web');
  const c = await createConnection(server);
  if (!reuse) await c.query(`DROP DATABASE IF EXISTS \`crds_bench_web_${name}\``);
  await c.query(`CREATE DATABASE IF NOT EXISTS \`crds_bench_web_${name}\``);
  await c.end();
  return { url: `${server}/crds_bench_web_${name}`, drop: async () => undefined };
}

/** `clients` keep-alive clients asking for `paths` in turn for `seconds`, or until `count` requests were sent. */
async function load(url: string, paths: string[], clients: number, seconds: number, count = Infinity): Promise<Result> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const deadline = performance.now() + seconds * 1000; // (with a count, no deadline)
  const target = new URL(url);
  const one = (p: string) =>
    new Promise<boolean>((resolve) => {
      const req = http.get({ host: target.hostname, port: target.port, path: p, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
      });
      req.on('error', () => resolve(false));
    });
  const started = performance.now();
  const cpu0 = { web: cpuMs(pids.web), mariadb: cpuMs(pids.mariadb) };
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (Number.isFinite(count) ? next < count : performance.now() < deadline) {
        const p = paths[next++ % paths.length];
        const t0 = performance.now();
        if (!(await one(p))) errors++;
        latencies.push(performance.now() - t0);
      }
    }),
  );
  agent.destroy();
  const per = (before?: number, after?: number) => (before !== undefined && after !== undefined ? (after - before) / Math.max(1, latencies.length) : undefined);
  const cpu = { web: per(cpu0.web, cpuMs(pids.web)) ?? NaN, mariadb: per(cpu0.mariadb, cpuMs(pids.mariadb)) };
  return { requests: latencies.length, errors, seconds: (performance.now() - started) / 1000, latencies: latencies.sort((a, b) => a - b), cpu };
}

const pct = (l: number[], p: number) => l[Math.min(l.length - 1, Math.floor((p / 100) * l.length))];
const line = (name: string, r: Result, baseline?: Result) =>
  `${name.padEnd(22)} ${String(Math.round(r.requests / r.seconds)).padStart(6)} req/s  p50 ${pct(r.latencies, 50).toFixed(1).padStart(6)} ms  p90 ${pct(r.latencies, 90).toFixed(1).padStart(6)} ms  p99 ${pct(r.latencies, 99).toFixed(1).padStart(6)} ms  max ${r.latencies[r.latencies.length - 1].toFixed(0)} ms  (${r.requests} requests, ${r.errors} errors)  CPU/request web ${r.cpu.web.toFixed(2)} ms` +
  (r.cpu.mariadb !== undefined ? ` + MariaDB ${r.cpu.mariadb.toFixed(2)} ms` : '') +
  (baseline ? `  p99 ${(pct(r.latencies, 99) / pct(baseline.latencies, 99)).toFixed(1)}× the static file's` : '');

async function main(): Promise<void> {
  const work = KEEP ? path.join(os.tmpdir(), `crds-bench-web-${KEEP}`) : fs.mkdtempSync(path.join(os.tmpdir(), 'crds-bench-web-'));
  fs.mkdirSync(work, { recursive: true });
  // What a kept database holds: its rows were made by a run with this --rows.
  const ready = path.join(work, `ready-${ROWS}`);
  const reuse = KEEP !== undefined && fs.existsSync(ready);
  if (KEEP && !reuse) for (const f of fs.readdirSync(work)) if (f !== 'mariadb') fs.rmSync(path.join(work, f), { recursive: true, force: true });
  const target = KEEP ? await keptDatabase(KEEP, reuse) : await freshMysqlDatabase('bench_web');
  const pidFile = process.env.CRDS_BENCH_MARIADB_PIDFILE;
  if (pidFile && fs.existsSync(pidFile)) pids.mariadb = Number(fs.readFileSync(pidFile, 'utf8'));
  let web: Awaited<ReturnType<typeof startProcess>> | undefined;
  try {
    const fileCache = path.join(work, 'file_cache');
    let t0 = performance.now();
    const db = await openDatabase(target.url);
    console.log(`database ${target.url.replace(/\/\/[^@]*@/, '//')} migrated in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    if (reuse) {
      console.log(`kept catalog of an earlier run (--keep ${KEEP}): ${await db.models.CatalogFile.count()} catalog rows`);
    } else {
      t0 = performance.now();
      const imported = await importCache(db, { source: path.join(SHARED_DATA, 'crds-cache'), fileCache, observatory: 'hst' });
      console.log(`HST catalog: ${imported.mappings.added} mappings, ${imported.references.added} references imported in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      t0 = performance.now();
      await generateRows(db, ROWS);
      const total = await db.models.CatalogFile.count();
      console.log(`generated ${ROWS} reference rows in ${((performance.now() - t0) / 1000).toFixed(0)} s: ${total} catalog rows`);
      if (KEEP) fs.writeFileSync(ready, new Date().toISOString() + '\n');
    }
    const mappings = (await db.models.CatalogFile.findAll({ where: { type: 'mapping' }, attributes: ['name'], raw: true })).map((r) => r.name);
    const generated = (await db.models.CatalogFile.findAll({ where: { delivererUser: 'bench' }, attributes: ['name'], limit: 100, raw: true })).map((r) => r.name);
    await db.close();

    const [port] = await freePorts(1);
    const url = `http://127.0.0.1:${port}`;
    buildOnce();
    web = await startProcess(
      'ops/serve web',
      { CRDS_OBSERVATORY: 'hst', CRDS_USECASE: 'local', CRDS_DATABASE_URL: target.url, CRDS_FILE_CACHE: fileCache, CRDS_SERVER_FILES: path.join(work, 'server_files'), PORT: String(port), CRDS_SITE_URL: url, TEMPORAL_ADDRESS: '127.0.0.1:1', CRDS_WEB_PROCESSES: String(WEB_PROCESSES) },
      /site on/,
      300_000,
    );
    pids.web = web.child.pid;
    const contexts = mappings.filter((n) => /^hst_\d+\.pmap$/.test(n)).sort().slice(-20);
    const pages = {
      search: ['/browse_db/', '/browse_db/?instrument=acs', '/browse_db/?instrument=cos&filekind=darkfile', '/browse_db/?sort=name', '/browse_db/?state=delivered&sort=useafter_date', '/browse_db/?bad=bad'],
      file: [
        ...mappings.filter((_, i) => i % 23 === 0),
        ...generated,
      ].map((n) => `/browse/${n}`),
      context: contexts.map((c) => `/context_table/${c}`),
    };
    // Warm up: the rules index, the facet counts of each variant, the file pages' parses.
    t0 = performance.now();
    // Each load opens new connections, which the cluster's primary hands out in turn: one pass per
    // web process warms every process (each keeps its own caches and rules index).
    for (let w = 0; w < WEB_PROCESSES; w++) await load(url, ['/uses/hst_0729.pmap'], 1, 0.001);
    // Every page once (its first view in a catalog generation computes what later views reuse:
    // `first view` below, from the first process), then 5 s of each kind.
    for (const [kind, list] of Object.entries(pages)) {
      console.log(line(`${kind}: first view`, await load(url, list, 1, 0, list.length)));
      for (let w = 1; w < WEB_PROCESSES; w++) await load(url, list, 1, 0, list.length);
    }
    for (const list of Object.values(pages)) await load(url, list, 4, 5);
    console.log(`warm-up ${((performance.now() - t0) / 1000).toFixed(0)} s; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, ${os.cpus().length} cpus; ${CLIENTS} clients, ${SECONDS} s each (Node clients in this process)`);
    const baseline = await load(url, ['/static/style.css'], CLIENTS, SECONDS);
    console.log(line('static file (baseline)', baseline));
    console.log(line('search page', await load(url, pages.search, CLIENTS, SECONDS), baseline));
    console.log(line('file page', await load(url, pages.file, CLIENTS, SECONDS), baseline));
    console.log(line('context table', await load(url, pages.context, CLIENTS, SECONDS), baseline));
  } finally {
    await stopProcess(web);
    await target.drop();
    if (!KEEP) fs.rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
