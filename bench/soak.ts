// Soak of the embedded site over loopback: N minutes of mixed traffic against the web and the
// worker as their own processes, as ops/run runs them (ops/serve web|worker, the web as
// CRDS_WEB_PROCESSES processes, default 1; SQLite catalog of the demo rules plus
// generated references, the Temporal server bench/soak starts): get_best_references,
// get_file_info_map, downloads, and hostile inputs at a low rate (deep ids, backtracking
// globs, malformed percent-encoding, oversized and deeply nested bodies).
//
//   bench/soak [--minutes N] [--clients N] [--rate N] [--submit-every S]
//   (default 10 minutes, 8 clients, 100 requests/s, a submission started every 20 s)
//
// Prints, and fails (exit 1) unless: no error answer to a valid request, the web never exits,
// web RSS grows < 10% from the end of warm-up (the first fifth) to the end, and the p99 of
// get_best_references under the mix is within 2× of the same clients alone (unloaded: paced as
// in the mix, with nothing else; one client back to back is printed beside it).
// Best references are sent and timed on a thread of their own (bench/soak-probe.ts): timed on
// the main thread, they would also count that thread's own work for the rest of the mix.
// A logged-in user also sends chunked uploads (two Content-Range chunks) and deletes them, and
// an ACS submitter delivers a new dark reference as `crds submit` does (log in with the lock,
// upload, /batch_submit_references/, poll until ready, /submit_confirm/, poll until delivered).
// To find what costs the p99, parts of the mix can be left out: SOAK_NO_HOSTILE=1,
// SOAK_NO_UPLOADS=1, SOAK_NO_DOWNLOADS=1, SOAK_NO_INFO=1 (and a large --submit-every).
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { request, type ProbeRequest, type ProbeResult } from './soak-probe';
import { MappingStore } from '../crds';
import { openDatabase } from '../db';
import { importCache } from '../db/catalog-import';
import { createUser, setGroup } from '../db/accounts';
import { multipart, WebSession } from '../test/web/web-session';
import { generateHeaders } from '../ops/commands/gen-datasets';
import { REPO_ROOT } from '../test/support/paths';
import { freePorts } from '../test/support/ports';
import { buildOnce, processTree, startProcess, stopProcess } from '../test/support/processes';

const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const MINUTES = opt('minutes', 10);
const CLIENTS = opt('clients', 8);
/** Requests per second of the whole mix, paced (a soak, not a saturation test). */
const RATE = opt('rate', 100);
/** Seconds between the end of one submission and the start of the next. */
const SUBMIT_EVERY = opt('submit-every', 20);
const CONTEXT = 'hst_0002.pmap';

/** Web processes (CRDS_WEB_PROCESSES, default 1 as in ops/run). */
const WEB_PROCESSES = Number(process.env.CRDS_WEB_PROCESSES ?? 1);
/** RSS of a process and all its descendants (a cluster primary and its web processes). */
const rss = (pid: number): number =>
  processTree(pid).reduce((sum, p) => {
    try {
      return sum + Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    } catch {
      return sum; // gone meanwhile
    }
  }, 0);
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-soak-'));
  let web: Awaited<ReturnType<typeof startProcess>> | undefined;
  let worker: Awaited<ReturnType<typeof startProcess>> | undefined;
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  try {
    const source = path.join(work, 'source');
    fs.cpSync(path.join(REPO_ROOT, 'config', 'demo', 'cache'), source, { recursive: true });
    const refDir = path.join(source, 'references', 'hst');
    fs.mkdirSync(refDir, { recursive: true });
    const downloads = Array.from({ length: 4 }, (_, i) => `soak${String(i).padStart(4, '0')}j_drk.fits`);
    for (const name of downloads) fs.writeFileSync(path.join(refDir, name), randomBytes(256 * 1024));
    const databaseUrl = `sqlite:${path.join(work, 'crds.sqlite')}`;
    const fileCache = path.join(work, 'file_cache');
    const db = await openDatabase(databaseUrl);
    await importCache(db, { source, fileCache, observatory: 'hst', contexts: { latest: CONTEXT, edit: CONTEXT } });
    await createUser(db, { username: 'soak', email: 'soak@test.example', password: 'soak-password' });
    await createUser(db, { username: 'submitter', email: 'submitter@test.example', password: 'submitter-password' });
    await setGroup(db, 'acs-team', ['acs'], ['submitter']);
    await db.close();
    const [port] = await freePorts(1);
    const url = `http://127.0.0.1:${port}`;
    buildOnce();
    const temporal = process.env.TEMPORAL_ADDRESS;
    if (!temporal) throw new Error('soak: TEMPORAL_ADDRESS is not set (run it through bench/soak, which starts a Temporal server)');
    const env = { CRDS_OBSERVATORY: 'hst', CRDS_USECASE: 'local', CRDS_DATABASE_URL: databaseUrl, CRDS_FILE_CACHE: fileCache, CRDS_SERVER_FILES: path.join(work, 'server_files'), PORT: String(port), CRDS_SITE_URL: url, TEMPORAL_ADDRESS: temporal, CRDS_TASK_QUEUE: `soak-${process.pid}` };
    worker = await startProcess('ops/serve worker', env, /Worker state changed[\s\S]*RUNNING/, 240_000);
    let workerExited = false;
    worker.child.once('exit', () => (workerExited = true));
    web = await startProcess('ops/serve web', env, new RegExp(Array(WEB_PROCESSES).fill('site on').join('[\\s\\S]*')));
    const pid = web.child.pid!;
    let exited = false;
    web.child.once('exit', () => (exited = true));

    const store = new MappingStore(path.join(fileCache, 'mappings', 'hst'));
    const headers = Object.values(generateHeaders(store, CONTEXT, 500, 1));
    const names = store.loadContext(CONTEXT).mappingNames();
    let n = 0;
    const rpc = (method: string, params: unknown) => ({ method: 'POST', body: JSON.stringify({ jsonrpc: '1.0', method, params, id: `soak-${++n}` }) });
    const valid: { kind: string; path: string; init?: { method: string; body: string }; check(status: number, text: string): boolean }[] = [];
    const rpcOk = (status: number, text: string) => status === 200 && (JSON.parse(text) as { error: unknown }).error === null;
    // Best references, three fifths of the requests, are sent by the probe thread.
    const bestrefsBodies = headers.map((h, i) => JSON.stringify({ jsonrpc: '1.0', method: 'get_best_references', params: [CONTEXT, h, null], id: `soak-bestrefs-${i}` }));
    const probe = (request: ProbeRequest) =>
      new Promise<ProbeResult>((resolve, reject) => {
        // Node 20 loads a worker's .ts entry before tsx's hooks apply: register them first.
        const entry = `require('tsx/cjs/api').register(); require(${JSON.stringify(path.join(__dirname, 'soak-probe.ts'))});`;
        const thread = new Worker(entry, { eval: true, workerData: request });
        thread.once('message', resolve);
        thread.once('error', reject);
      });
    valid.push(
      { kind: 'file_info_map', path: '/json/', init: rpc('get_file_info_map', ['hst', names.slice(0, 20), null]), check: rpcOk },
      { kind: 'download', path: `/unchecked_get/references/hst/${downloads[0]}`, check: (s) => s === 200 },
    );
    if (process.env.SOAK_NO_DOWNLOADS) valid.splice(valid.findIndex((v) => v.kind === 'download'), 1);
    if (process.env.SOAK_NO_INFO) valid.splice(valid.findIndex((v) => v.kind === 'file_info_map'), 1);
    /** Requests per second of each main-thread client (file info and downloads: two fifths of the mix). */
    const perClient = (RATE * 2) / 5 / CLIENTS;
    const hostile: { kind: string; path: string; init?: { method: string; body: string } }[] = [
      { kind: 'deep id', path: '/json/', init: { method: 'POST', body: `{"method":"get_default_context","id":${'['.repeat(50_000)}${']'.repeat(50_000)}}` } },
      { kind: 'backtracking glob', path: '/json/', init: rpc('list_mappings', ['hst', '*a'.repeat(60) + 'Q']) },
      { kind: 'bad percent-encoding', path: '/unchecked_get/references/hst/%E0%A4%A' },
      { kind: 'deep params', path: '/json/', init: { method: 'POST', body: `{"method":"get_best_references","params":${'['.repeat(200_000)}` } },
      { kind: 'big id', path: '/json/', init: rpc('get_default_context', { observatory: 'x'.repeat(1 << 20) }) },
    ];

    // Downloads are counted, not kept: keeping them would load this process, not the web.
    const fetchOne = (r: { path: string; init?: { method: string; body: string } }) => request(agent, url + r.path, { ...r.init, discard: r.path.startsWith('/unchecked_get/') });

    // Chunked uploads as the real client sends them: each chunk's reply renews the token.
    const uploader = new WebSession(url);
    if ((await uploader.login('soak', 'soak-password')).status !== 302) throw new Error('soak: the upload user cannot log in');
    const payload = randomBytes(1 << 20);
    let uploads = 0;
    const chunkedUpload = async (): Promise<{ ok: boolean; detail: string }> => {
      const name = `soak_upload_${++uploads % 4}_drk.fits`;
      for (let start = 0; start < payload.length; start += 1 << 19) {
        const end = Math.min(start + (1 << 19), payload.length) - 1;
        const form = multipart([
          { name: 'csrfmiddlewaretoken', data: uploader.cookies.get('csrftoken') ?? '' },
          { name: 'files', filename: name, data: payload.subarray(start, end + 1) },
        ]);
        const r = await uploader.request('/upload/chunked/', { method: 'POST', body: form.body, headers: { 'content-type': form.contentType, 'Content-Range': `bytes ${start}-${end}/${payload.length}` } });
        if (r.status !== 200) return { ok: false, detail: `chunk ${start}: ${r.status} ${r.text.slice(0, 200)}` };
      }
      const d = await uploader.request(`/upload/delete/${name}`, { method: 'DELETE', headers: { 'X-CSRFToken': uploader.cookies.get('csrftoken') ?? '' } });
      return d.status === 200 ? { ok: true, detail: '' } : { ok: false, detail: `delete: ${d.status} ${d.text.slice(0, 200)}` };
    };

    // Submissions as the real client makes them, one after another at a low rate: a new ACS dark
    // each time (DESCRIP numbered, so every file is new), delivered into the next context.
    const darkBytes = fs.readFileSync(path.join(fileCache, 'references', 'hst', 'd1a1001aj_drk.fits'));
    const descrip = darkBytes.indexOf("'Demo WFC dark'");
    const submissionTimes: number[] = [];
    let submitted = 0;
    const submitOnce = async (): Promise<{ ok: boolean; detail: string }> => {
      const t0 = performance.now();
      const tag = (++submitted).toString(36).padStart(4, '0');
      const bytes = Buffer.from(darkBytes);
      bytes.write(tag, descrip + "'Demo WFC ".length, 'latin1');
      const name = 'd1a1001aj_drk.fits';
      const session = new WebSession(url);
      const login = await session.login('submitter', 'submitter-password', 'acs');
      if (login.status !== 302) return { ok: false, detail: `login: ${login.status}` };
      await session.get('/upload/chunked/');
      const form = multipart([
        { name: 'csrfmiddlewaretoken', data: session.cookies.get('csrftoken') ?? '' },
        { name: 'files', filename: name, data: bytes },
      ]);
      const up = await session.request('/upload/chunked/', { method: 'POST', body: form.body, headers: { 'content-type': form.contentType, 'Content-Range': `bytes 0-${bytes.length - 1}/${bytes.length}` } });
      if (up.status !== 200) return { ok: false, detail: `upload: ${up.status} ${up.text.slice(0, 200)}` };
      const posted = await session.post('/batch_submit_references/', { pmap_mode: 'pmap_edit', pmap_name: '', change_level: 'SEVERE', auto_rename: 'True', compare_old_reference: 'True', description: `soak submission ${tag}`, creator: 'Soak' });
      const id = /\/display_result\/(.+)$/.exec(posted.headers.get('location') ?? '')?.[1];
      if (!id) return { ok: false, detail: `submit: ${posted.status} ${posted.text.slice(0, 300)}` };
      const poll = async (s: WebSession, done: (p: { status: string; delivery?: unknown; reason?: string }) => boolean): Promise<string> => {
        let last = '';
        for (const deadline = Date.now() + 120_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
          const r = await s.get(`/submission/${id}/progress.json`);
          last = `${r.status} ${r.text.slice(0, 600)}`;
          if (r.status !== 200) continue;
          const p = r.json<{ status: string; delivery?: unknown; reason?: string }>();
          if (p.status === 'failed' || p.status === 'cancelled') return `${p.status}: ${p.reason}`;
          if (done(p)) return '';
        }
        return `not there within 120 s; last answer ${last}`;
      };
      const ready = await poll(session, (p) => p.status === 'ready');
      if (ready) return { ok: false, detail: `submission ${id}: ${ready}` };
      const confirmed = await session.post('/submit_confirm/', { results_id: id, button: 'confirm' });
      if (confirmed.status !== 302) return { ok: false, detail: `confirm: ${confirmed.status} ${confirmed.text.slice(0, 200)}` };
      // Confirming logs out (as the original); results are for the submitter's eyes only.
      const watcher = new WebSession(url);
      if ((await watcher.login('submitter', 'submitter-password')).status !== 302) return { ok: false, detail: 'login after confirm refused' };
      const delivered = await poll(watcher, (p) => !!p.delivery);
      if (delivered) return { ok: false, detail: `submission ${id}: ${delivered}` };
      submissionTimes.push(performance.now() - t0);
      return { ok: true, detail: '' };
    };

    // Unloaded: the same best-references clients, paced as in the mix, with nothing else for a
    // minute. One client calling back to back is also shown: both ends then stay awake, so its
    // p50 is a fifth of a paced call's (on this VM a call arriving at an idle process pays its
    // wake-up), which the mix does not change.
    const backToBackRun = await probe({ url, bodies: bestrefsBodies, clients: 1, rate: Infinity, durationMs: 5000 });
    const backToBack = backToBackRun.ms.sort((a, b) => a - b);
    const unloadedRun = await probe({ url, bodies: bestrefsBodies, clients: CLIENTS, rate: (RATE * 3) / 5, durationMs: 60_000 });
    const unloaded = unloadedRun.ms.sort((a, b) => a - b);

    const end = Date.now() + MINUTES * 60_000;
    const warm = Date.now() + (MINUTES * 60_000) / 5;
    const counts: Record<string, number> = {};
    const failures: string[] = [];
    const rssSamples: { t: number; bytes: number }[] = [];
    // The web's own answer time for best references (from its /metrics histogram), to tell the
    // server's delays from those on the way to it.
    const serverBuckets = async (): Promise<Map<string, number>> => {
      const text = await (await fetch(`${url}/metrics`)).text();
      const out = new Map<string, number>();
      for (const m of text.matchAll(/^crds_jsonrpc_duration_seconds_bucket\{([^}]*)\} (\d+)/gm)) {
        const le = /le="([^"]+)"/.exec(m[1]!)?.[1];
        if (le && m[1]!.includes('method="get_best_references"')) out.set(le, Number(m[2]));
      }
      return out;
    };
    // With several web processes each /metrics is one process's, and two calls may meet two.
    const serverBefore = WEB_PROCESSES === 1 ? await serverBuckets() : new Map<string, number>();
    const clientLoop = monitorEventLoopDelay({ resolution: 1 });
    clientLoop.enable();
    const sampler = setInterval(() => !exited && rssSamples.push({ t: Date.now(), bytes: rss(pid) }), 2000);
    let hostileSent = 0;
    const submissions = (async () => {
      while (Date.now() < end && !exited) {
        const r = await submitOnce().catch((e: Error) => ({ ok: false, detail: e.message }));
        counts['submission (upload, submit, confirm, delivered)'] = (counts['submission (upload, submit, confirm, delivered)'] ?? 0) + 1;
        if (!r.ok) failures.push(`submission: ${r.detail}`);
        await new Promise((res) => setTimeout(res, Math.max(0, Math.min(SUBMIT_EVERY * 1000, end - Date.now()))));
      }
    })();
    const probed = probe({ url, bodies: bestrefsBodies, clients: CLIENTS, rate: (RATE * 3) / 5, durationMs: end - Date.now() });
    await Promise.all([
      submissions,
      ...Array.from({ length: CLIENTS }, async (_, c) => {
        const interval = 1000 / perClient;
        const start = Date.now() + (c * interval) / CLIENTS;
        for (let i = 0; Date.now() < end && !exited; i++) {
          const wait = start + i * interval - Date.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          // Hostile inputs every 4 s, a chunked upload every 2 s.
          if (!process.env.SOAK_NO_HOSTILE && c === 0 && i % Math.round(4 * perClient) === 0) {
            const h = hostile[hostileSent++ % hostile.length]!;
            const r = await fetchOne(h).catch((e: Error) => ({ status: -1, text: e.message, ms: 0 }));
            counts[`hostile: ${h.kind} → ${r.status}`] = (counts[`hostile: ${h.kind} → ${r.status}`] ?? 0) + 1;
            continue;
          }
          if (!process.env.SOAK_NO_UPLOADS && c === 1 && i % Math.round(2 * perClient) === 0) {
            const r = await chunkedUpload().catch((e: Error) => ({ ok: false, detail: e.message }));
            counts['chunked upload (1 MB in 2 chunks, then delete)'] = (counts['chunked upload (1 MB in 2 chunks, then delete)'] ?? 0) + 1;
            if (!r.ok) failures.push(`chunked upload: ${r.detail}`);
            continue;
          }
          if (!valid.length) continue;
          const v = valid[(i + c) % valid.length]!;
          const r = await fetchOne(v).catch((e: Error) => ({ status: -1, text: e.message, ms: 0 }));
          counts[v.kind] = (counts[v.kind] ?? 0) + 1;
          if (!v.check(r.status, r.text)) failures.push(`${v.kind}: ${r.status} ${r.text.slice(0, 200)}`);
        }
      }),
    ]);
    clearInterval(sampler);
    const { ms: loaded, failures: probeFailures, loopP99: probeLoopP99, loopMax: probeLoopMax } = await probed;
    failures.push(...backToBackRun.failures, ...unloadedRun.failures, ...probeFailures);
    counts['bestrefs'] = loaded.length;
    clientLoop.disable();
    const serverAfter = WEB_PROCESSES === 1 ? await serverBuckets() : new Map<string, number>();
    loaded.sort((a, b) => a - b);
    const afterWarm = rssSamples.filter((s) => s.t >= warm);
    const rssStart = afterWarm[0]?.bytes ?? NaN;
    const rssEnd = afterWarm[afterWarm.length - 1]?.bytes ?? NaN;
    const rssMax = Math.max(...afterWarm.map((s) => s.bytes));
    const growth = (rssEnd - rssStart) / rssStart;
    const p99u = pct(unloaded, 99);
    const p99l = pct(loaded, 99);
    const mb = (b: number) => (b / 1048576).toFixed(1);
    console.log(`soak: ${MINUTES} min, ${WEB_PROCESSES} web process(es), ${CLIENTS} clients at ${RATE} requests/s, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} on ${os.cpus().length} cpus`);
    for (const [k, v] of Object.entries(counts).sort()) console.log(`  ${k}: ${v}`);
    console.log(`  best references, one client back to back: p50 ${pct(backToBack, 50).toFixed(2)} ms, p99 ${pct(backToBack, 99).toFixed(2)} ms (${backToBack.length} calls)`);
    console.log(`  best references unloaded (paced as in the mix, nothing else): p50 ${pct(unloaded, 50).toFixed(2)} ms, p99 ${p99u.toFixed(2)} ms (${unloaded.length} calls; probe thread loop p99 ${unloadedRun.loopP99.toFixed(2)} ms)`);
    console.log(`  best references in the mix: p50 ${pct(loaded, 50).toFixed(2)} ms, p99 ${p99l.toFixed(2)} ms (${loaded.length} calls): ${(p99l / p99u).toFixed(2)}× unloaded (goal ≤ 2), ${(p99l / pct(backToBack, 99)).toFixed(2)}× back to back`);
    console.log(`  web RSS${WEB_PROCESSES > 1 ? ` (${WEB_PROCESSES} processes and their primary)` : ''} after warm-up ${mb(rssStart)} MB → end ${mb(rssEnd)} MB (max ${mb(rssMax)} MB): ${(growth * 100).toFixed(1)}% (goal < 10%)`);
    const served = (le: string) => (serverAfter.get(le) ?? 0) - (serverBefore.get(le) ?? 0);
    const servedAll = served('+Inf');
    if (WEB_PROCESSES === 1) console.log(`  best references as the web timed them: ${['0.005', '0.01', '0.025', '0.05'].map((le) => `${(((servedAll - served(le)) / servedAll) * 100).toFixed(2)}% over ${Number(le) * 1000} ms`).join(', ')}`);
    console.log(`  the soak's own event loop delay: main thread p99 ${(clientLoop.percentile(99) / 1e6).toFixed(2)} ms, max ${(clientLoop.max / 1e6).toFixed(2)} ms; best-references thread p99 ${probeLoopP99.toFixed(2)} ms, max ${probeLoopMax.toFixed(2)} ms`);
    const subs = [...submissionTimes].sort((a, b) => a - b);
    console.log(`  submissions delivered: ${subs.length}, login to delivered p50 ${(pct(subs, 50) / 1000).toFixed(2)} s, max ${((subs[subs.length - 1] ?? NaN) / 1000).toFixed(2)} s`);
    // A web process of a cluster that dies is restarted by the primary, which says so.
    const restarts = (web.output().match(/web: process \d+ exited/g) ?? []).length;
    console.log(`  error answers to valid requests: ${failures.length}${failures.length ? ` (first: ${failures[0]})` : ''}; web exited: ${exited}${WEB_PROCESSES > 1 ? `, web processes restarted: ${restarts}` : ''}; worker exited: ${workerExited}`);
    const ok = failures.length === 0 && !exited && restarts === 0 && !workerExited && subs.length > 0 && growth < 0.1 && p99l <= 2 * p99u;
    console.log(ok ? 'soak: PASS' : 'soak: FAIL');
    if (workerExited || failures.some((f) => f.startsWith('submission'))) console.log(`--- the worker's output, last lines:\n${worker.output().slice(-3000)}`);
    process.exitCode = ok ? 0 : 1;
  } finally {
    agent.destroy();
    await stopProcess(web);
    await stopProcess(worker);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
