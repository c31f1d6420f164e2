// JSON-RPC and download benchmark of the web over loopback.
//
//   bench/jsonrpc [--seconds N] [--clients N] [--sync-mb N] [--node-client]
//
// Builds a throwaway site (SQLite catalog, or MariaDB when CRDS_TEST_MYSQL_URL is set) with
// the real HST rules imported by ops/init's code, starts the web as its own process (as
// ops/run does), then:
// * get_best_references: --clients concurrent keep-alive clients, each posting one header at a
//   time (headers generated from hst_0729's rules by gen-datasets' generator, all types);
// * get_file_info_map: the same for 20 named files with all fields;
//   both report requests per second and latency percentiles (p50, p90, p99, max). The load
//   comes from `wrk` (apt-get install wrk; one thread, a Lua script cycling through the
//   bodies) when installed: a C load generator leaves the second core to the server, where a
//   Node client in this process would take most of it. --node-client forces the Node client.
//   Either way a short Node pass first checks every body is answered without error.
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
import { buildOnce, startProcess, stopProcess } from '../test/support/processes';

const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const SECONDS = opt('seconds', 10);
const CLIENTS = opt('clients', 64);
const SYNC_MB = opt('sync-mb', 256);
const CONTEXT = 'hst_0729.pmap';
const NODE_CLIENT = args.includes('--node-client');

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

function hasWrk(): boolean {
  return spawnSync('wrk', ['--version'], { encoding: 'utf8' }).error === undefined;
}

/**
 * The same load from wrk: `clients` connections on one thread, each request the next body
 * (bodies as JSON strings, one a line, read by the Lua script); latency percentiles from
 * wrk's own histogram (microsecond resolution).
 */
function wrkLoad(url: string, bodies: string[], clients: number, seconds: number, work: string): LoadResult & { percentiles: Record<string, number> } {
  const bodyFile = path.join(work, `bodies-${process.hrtime.bigint()}.txt`);
  fs.writeFileSync(bodyFile, bodies.join('\n') + '\n');
  const script = path.join(work, 'wrk-post.lua');
  fs.writeFileSync(
    script,
    `local bodies = {}
for line in io.lines(${JSON.stringify(bodyFile)}) do bodies[#bodies + 1] = line end
-- Formatted on first use: at load time wrk.host is not set yet (no Host header: a 400).
local requests = nil
local n = 0
request = function()
  if not requests then
    requests = {}
    for i, b in ipairs(bodies) do requests[i] = wrk.format("POST", "/json/", { ["Content-Type"] = "application/json" }, b) end
  end
  n = n + 1
  if n > #requests then n = 1 end
  return requests[n]
end
local seen = false
if os.getenv("WRK_DEBUG") then response = function(status, headers, body)
  if not seen then seen = true io.write("STATUS " .. status .. " " .. body:sub(1, 300) .. "\\n") end
end end
done = function(summary, latency, requests)
  io.write(string.format("WRK %d %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout + summary.errors.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, 0))
end
`,
  );
  const r = spawnSync('wrk', ['-t1', `-c${clients}`, `-d${seconds}s`, '-s', script, `${url}/json/`], { encoding: 'utf8' });
  const m = /^WRK (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)/m.exec(r.stdout);
  if (!m) throw new Error(`wrk failed: ${r.stdout}\n${r.stderr}`);
  if (process.env.WRK_DEBUG) console.log(r.stdout);
  const [requests, durationUs, errors, p50, p90, p99, max] = m.slice(1).map(Number);
  return { requests, errors, seconds: durationUs / 1e6, latenciesMs: [], percentiles: { p50: p50 / 1000, p90: p90 / 1000, p99: p99 / 1000, max: max / 1000 } };
}

/** CPU seconds (user + system) used so far by process `pid` and its descendants (Linux /proc). */
function cpuSeconds(pid: number): number {
  const tick = 100; // USER_HZ
  let total = 0;
  const visit = (p: number) => {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / tick; // utime, stime
      for (const t of fs.readdirSync(`/proc/${p}/task`)) {
        const kids = fs.readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim();
        if (kids) for (const k of kids.split(' ')) visit(Number(k));
      }
    } catch {
      /* gone */
    }
  };
  visit(pid);
  return total;
}

/**
 * Runs the load and reports it, with the server's CPU time per request: other processes on a
 * shared machine change req/s and latencies, much less the CPU each answer costs, and
 * 1 / (CPU per request) is what one dedicated core would sustain.
 */
async function measure(name: string, url: string, bodies: string[], work: string, serverPid: number): Promise<string> {
  // Every body answered without error (the wrk pass does not read answers).
  const check = await load(url, bodies.slice(0, 400), 4, 1);
  if (check.errors) throw new Error(`${name}: ${check.errors} of ${check.requests} answers were errors`);
  const cpu0 = cpuSeconds(serverPid);
  const load0 = os.loadavg()[0];
  let line: string;
  let requests: number;
  if (NODE_CLIENT || !hasWrk()) {
    const r = await load(url, bodies, CLIENTS, SECONDS);
    requests = r.requests;
    line = report(`${name} [node]`, r);
  } else {
    const w = wrkLoad(url, bodies, CLIENTS, SECONDS, work);
    requests = w.requests;
    line = `${`${name} [wrk]`.padEnd(28)} ${String(Math.round(w.requests / w.seconds)).padStart(7)} req/s  p50 ${w.percentiles.p50.toFixed(2)} ms  p90 ${w.percentiles.p90.toFixed(2)} ms  p99 ${w.percentiles.p99.toFixed(2)} ms  max ${w.percentiles.max.toFixed(1)} ms  (${w.requests} requests, ${w.errors} socket/status errors, ${CLIENTS} connections, ${w.seconds.toFixed(1)} s)`;
  }
  const cpu = cpuSeconds(serverPid) - cpu0;
  const perRequestUs = (cpu / requests) * 1e6;
  return `${line}\n${''.padEnd(28)} server CPU ${perRequestUs.toFixed(0)} µs/request (${cpu.toFixed(1)} CPU s: ${Math.round(1e6 / perRequestUs)} req/s per dedicated core); load average ${load0.toFixed(2)} → ${os.loadavg()[0].toFixed(2)}`;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

function report(name: string, r: LoadResult): string {
  const l = r.latenciesMs;
  return `${name.padEnd(28)} ${String(Math.round(r.requests / r.seconds)).padStart(7)} req/s  p50 ${pct(l, 50).toFixed(2)} ms  p90 ${pct(l, 90).toFixed(2)} ms  p99 ${pct(l, 99).toFixed(2)} ms  max ${l[l.length - 1].toFixed(1)} ms  (${r.requests} requests, ${r.errors} errors, ${CLIENTS} clients, ${r.seconds.toFixed(1)} s)`;
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
    // One tiny reference: a sync of it alone is the client's fixed cost (two Python start-ups,
    // server info, file info), which a sync of large files pays once.
    const tinyFile = 'bench0008j_drk.fits';
    fs.writeFileSync(path.join(source, 'references', 'hst', tinyFile), randomBytes(2880));
    const databaseUrl = process.env.CRDS_TEST_MYSQL_URL ? await mysqlDatabase(process.env.CRDS_TEST_MYSQL_URL) : `sqlite:${path.join(work, 'crds.sqlite')}`;
    const fileCache = path.join(work, 'file_cache');
    const db = await openDatabase(databaseUrl);
    const t0 = performance.now();
    const imported = await importCache(db, { source, fileCache, observatory: 'hst', contexts: { latest: CONTEXT } });
    await db.close();
    console.log(`site: ${imported.mappings.added} mappings, ${imported.references.added} references imported in ${((performance.now() - t0) / 1000).toFixed(1)} s (${databaseUrl.split(':')[0]})`);

    const [port] = await freePorts(1);
    const url = `http://127.0.0.1:${port}`;
    buildOnce();
    web = await startProcess(
      'ops/serve web',
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
    console.log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, ${os.cpus().length} cpus`);
    const pid = web.child.pid!;
    console.log(await measure('get_best_references', url, bestrefBodies, work, pid));
    console.log(await measure('get_file_info_map (20)', url, infoBodies, work, pid));

    // crds sync of the big references vs a plain copy of the same files.
    const env = { ...process.env, CRDS_PATH: path.join(work, 'client'), CRDS_SERVER_URL: url, CRDS_OBSERVATORY: 'hst', CRDS_MODE: 'auto' };
    const crds = path.join(path.dirname(CRDS_PYTHON), 'crds');
    const f0 = performance.now();
    const tiny = spawnSync(crds, ['sync', '--files', tinyFile], { env, encoding: 'utf8' });
    const fixedSeconds = (performance.now() - f0) / 1000;
    if (tiny.status !== 0) throw new Error(`crds sync failed:\n${tiny.stderr}`);
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
    // Fairer baselines and where the client's time goes: the same files over loopback HTTP by
    // curl (one process, keep-alive), sha1 of them (the client hashes every file it fetched),
    // and the client's Python start-up (crds sync imports the library before anything else).
    const timed = (cmd: string, argv: string[]) => {
      const t = performance.now();
      const r = spawnSync(cmd, argv, { encoding: 'utf8', env });
      if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
      return (performance.now() - t) / 1000;
    };
    const curlDir = path.join(work, 'curl');
    fs.mkdirSync(curlDir);
    const curlSeconds = timed('curl', ['-s', '--fail', ...syncFiles.flatMap((f) => ['-o', path.join(curlDir, f), `${url}/unchecked_get/references/hst/${f}`])]);
    const shaSeconds = timed('sha1sum', syncFiles.map((f) => path.join(curlDir, f)));
    const pySeconds = timed(CRDS_PYTHON, ['-c', 'import crds, crds.client.api, crds.core.heavy_client, crds.sync']);
    // The client's own download loop alone (urllib, 8 MiB reads, written to a file; no verify),
    // timed inside Python so start-up is not counted: what the server gives a Python reader.
    const pyFetch = spawnSync(
      CRDS_PYTHON,
      [
        '-c',
        `import sys, time, urllib.request
t = time.perf_counter()
for i, name in enumerate(sys.argv[2:]):
    with urllib.request.urlopen(sys.argv[1] + name) as r, open(f"${path.join(work, 'pyfetch')}{i}", "wb") as out:
        while data := r.read(2**23):
            out.write(data)
print(time.perf_counter() - t)`,
        `${url}/unchecked_get/references/hst/`,
        ...syncFiles,
      ],
      { encoding: 'utf8' },
    );
    if (pyFetch.status !== 0) throw new Error(`python fetch failed: ${pyFetch.stderr}`);
    const pyFetchSeconds = Number(pyFetch.stdout.trim());
    console.log(`  the client's download loop alone (Python urllib, 8 MiB reads, no verify): ${(mb / pyFetchSeconds).toFixed(0)} MB/s in ${pyFetchSeconds.toFixed(2)} s`);
    const marginal = mb / (syncSeconds - fixedSeconds);
    const curlSha = mb / (curlSeconds + shaSeconds);
    console.log(
      `  per byte: the client's fixed cost (a sync of one 2,880-byte file) ${fixedSeconds.toFixed(2)} s; beyond it, sync moves ${marginal.toFixed(0)} MB/s, beside curl + sha1sum (fetch and verify, the same work per byte) ${curlSha.toFixed(0)} MB/s: ${((marginal / curlSha) * 100).toFixed(0)}%`,
    );
    console.log(
      `  baselines: curl over loopback ${(mb / curlSeconds).toFixed(0)} MB/s in ${curlSeconds.toFixed(2)} s (sync/curl ${((curlSeconds / syncSeconds) * 100).toFixed(0)}%);  sha1sum of the files ${shaSeconds.toFixed(2)} s;  client Python start-up ${pySeconds.toFixed(2)} s;  curl + sha1sum + start-up ${(curlSeconds + shaSeconds + pySeconds).toFixed(2)} s`,
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

