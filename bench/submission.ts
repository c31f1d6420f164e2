// Submission benchmark over loopback (issue #6): the real web process, the real worker
// process, MariaDB and Temporal (throwaway ones: run through bench/submission, which starts
// them the way ops/runtests does, or set CRDS_TEST_MYSQL_URL and TEMPORAL_ADDRESS yourself).
//
//   bench/submission [--big-mb N]    (default 2048: a 2 GiB file)
//
// For one small file (a real COS 1DX reference) and one big file (the same reference with an
// IMAGE extension of --big-mb MiB appended, generated in os.tmpdir(): certify reads headers
// and tables, so the big file certifies like the small one), as `crds submit` does: log in,
// upload in the client's Content-Range chunks (POST /upload/chunked/), submit
// (/batch_submit_references/), poll /submission/<id>/progress.json until ready, confirm
// (/submit_confirm/), poll until delivered. It prints the upload time and MiB/s, the time from
// the upload's end to confirm-ready and from the confirm to delivered, and the web process's
// peak RSS (VmRSS of /proc/<pid>/status, sampled every 50 ms) during each upload.
// Goals: small file confirm-ready within 3 s of the upload's end; uploads ≥ 200 MiB/s with the
// server's memory under 150 MB throughout.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { setGroup } from '../db/accounts';
import { archiveStep } from '../ops/commands/archive-sim';
import { UPLOAD_CHUNK_SIZE } from '../web/uploads';
import type { SubmissionProgress } from '../workflows/submission-types';
import { cosVariant, startSubmissionSite } from '../test/submission/harness';
import { freePorts } from '../test/support/ports';
import { buildOnce, startProcess, stopProcess, type Started } from '../test/support/processes';
import { WebSession } from '../test/web/web-session';

const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const BIG_MB = opt('big-mb', 2048);
const MiB = 1024 * 1024;

/** The COS reference with DESCRIP changed by `tag` and, when `extraMiB` > 0, an IMAGE extension that big. */
function makeFits(file: string, tag: string, extraMiB: number): void {
  fs.writeFileSync(file, cosVariant(tag));
  if (extraMiB <= 0) return;
  const n = extraMiB * MiB;
  const card = (s: string) => s.padEnd(80);
  let header = [
    card("XTENSION= 'IMAGE   '"),
    card('BITPIX  =                    8'),
    card('NAXIS   =                    1'),
    card(`NAXIS1  = ${String(n).padStart(20)}`),
    card('PCOUNT  =                    0'),
    card('GCOUNT  =                    1'),
    card("EXTNAME = 'BENCHPAD'"),
    card('END'),
  ].join('');
  header = header.padEnd(Math.ceil(header.length / 2880) * 2880);
  fs.appendFileSync(file, header, 'latin1');
  const fd = fs.openSync(file, 'a');
  const chunk = randomBytes(8 * MiB); // not zeros: nothing on the way may compress it
  for (let left = Math.ceil(n / 2880) * 2880; left > 0; ) {
    const k = Math.min(left, chunk.length);
    fs.writeSync(fd, chunk, 0, k);
    left -= k;
  }
  // On disk before the upload starts: its write-back would otherwise compete with the upload's.
  fs.fsyncSync(fd);
  fs.closeSync(fd);
}

/** Peak VmRSS (bytes) of a process and its children while sampling runs. */
function sampleRss(pid: number): { stop(): number } {
  const tree = (p: number): number[] => {
    try {
      const kids = fs.readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      return [p, ...kids.flatMap(tree)];
    } catch {
      return [p];
    }
  };
  const rss = (p: number) => {
    try {
      return Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    } catch {
      return 0;
    }
  };
  let peak = 0;
  const look = () => (peak = Math.max(peak, tree(pid).reduce((s, p) => s + rss(p), 0)));
  look();
  const timer = setInterval(look, 50);
  return { stop: () => (clearInterval(timer), look(), peak) };
}

/** One chunk as the real client sends it: multipart `files`, Content-Range, X-CSRFToken. */
function postChunk(base: string, web: WebSession, name: string, file: string, start: number, end: number, total: number, agent: http.Agent): Promise<void> {
  const boundary = `----crdsbench${randomBytes(8).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n${web.cookies.get('csrftoken') ?? ''}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const length = head.length + (end - start + 1) + tail.length;
  const url = new URL('/upload/chunked/', base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': length,
          'content-range': `bytes ${start}-${end}/${total}`,
          'x-csrftoken': web.cookies.get('csrftoken') ?? '',
          cookie: [...web.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`chunk ${start}-${end}: HTTP ${res.statusCode} ${text}`))));
      },
    );
    req.on('error', reject);
    req.write(head);
    const body = fs.createReadStream(file, { start, end, highWaterMark: 1 * MiB });
    body.on('error', reject);
    body.on('end', () => req.end(tail));
    body.pipe(req, { end: false });
  });
}

async function upload(base: string, web: WebSession, file: string, name: string): Promise<number> {
  const total = fs.statSync(file).size;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  await web.get('/upload/chunked/'); // the csrftoken, as the client does first
  const t0 = performance.now();
  const times: number[] = [];
  for (let start = 0; start < total; start += UPLOAD_CHUNK_SIZE) {
    const c0 = performance.now();
    await postChunk(base, web, name, file, start, Math.min(start + UPLOAD_CHUNK_SIZE, total) - 1, total, agent);
    times.push(performance.now() - c0);
  }
  // Each chunk's round trip (the client sends the next only after the answer): where time goes.
  const sorted = [...times].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.floor(p * (sorted.length - 1))]!.toFixed(1);
  process.stderr.write(`bench: ${times.length} chunk round trips: p10 ${q(0.1)} ms, p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms\n`);
  agent.destroy();
  return performance.now() - t0;
}

async function pollProgress(web: WebSession, id: string, done: (p: SubmissionProgress) => boolean, timeoutMs: number): Promise<SubmissionProgress> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await web.get(`/submission/${id}/progress.json`);
    if (r.status === 200) {
      const p = r.json<SubmissionProgress>();
      if (p.status === 'failed' || p.status === 'cancelled') throw new Error(`submission ${id} ${p.status}: ${p.reason}`);
      if (done(p)) return p;
    }
    if (Date.now() > deadline) throw new Error(`submission ${id} not there after ${timeoutMs} ms: ${r.text.slice(0, 2000)}`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

interface Row {
  label: string;
  bytes: number;
  uploadMs: number;
  readyMs: number;
  deliveredMs: number;
  rss: number;
  baseRss: number;
}

async function main(): Promise<void> {
  const site = await startSubmissionSite('bench');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-bench-submission-'));
  let web: Started | undefined;
  let worker: Started | undefined;
  try {
    await setGroup(site.db, 'cos-team', ['cos'], ['alice']);
    const [port] = await freePorts(1);
    const base = `http://127.0.0.1:${port}`;
    const env = { ...site.env, PORT: String(port), CRDS_SITE_URL: base, CRDS_SECRET_KEY: randomBytes(24).toString('hex'), CRDS_WEB_PROCESSES: '1' };
    buildOnce();
    worker = await startProcess('ops/serve worker', env, /Worker state changed[\s\S]*RUNNING/);
    web = await startProcess('ops/serve web', env, /web: .* on /);
    const rows: Row[] = [];
    const cases: [string, string, number][] = [
      ['small (20 KiB)', '1', 0],
      [`big (${(BIG_MB / 1024).toFixed(BIG_MB % 1024 ? 2 : 0)} GiB)`, '2', BIG_MB],
    ];
    for (const [label, tag, mb] of cases) {
      const file = path.join(tmp, 'z1r1943el_1dx.fits');
      process.stderr.write(`bench: generating ${label} in ${tmp}\n`);
      makeFits(file, tag, mb);
      const bytes = fs.statSync(file).size;
      const session = new WebSession(base);
      const login = await session.login('alice', 'alice-password', 'cos');
      if (login.status !== 302) throw new Error(`login failed: ${login.status}`);
      await new Promise((r) => setTimeout(r, 500));
      const baseRss = sampleRss(web.child.pid!).stop();
      const sampler = sampleRss(web.child.pid!);
      process.stderr.write(`bench: uploading ${label}\n`);
      const uploadMs = await upload(base, session, file, path.basename(file));
      const rss = sampler.stop();
      const uploadEnd = performance.now();
      fs.rmSync(file); // the disk space back; the server has its own copy
      const posted = await session.post('/batch_submit_references/', {
        pmap_mode: 'pmap_edit',
        pmap_name: '',
        change_level: 'SEVERE',
        auto_rename: 'True',
        compare_old_reference: 'True',
        description: `bench ${label}`.replace(/[^A-Za-z0-9 .]/g, ' '),
        creator: 'Bench',
      });
      const id = /\/display_result\/(.+)$/.exec(posted.headers.get('location') ?? '')?.[1];
      if (!id) throw new Error(`submit refused: ${posted.status} ${posted.text.slice(0, 500)}`);
      await pollProgress(session, id, (p) => p.status === 'ready', 120_000);
      const readyMs = performance.now() - uploadEnd;
      const confirmAt = performance.now();
      const confirmed = await session.post('/submit_confirm/', { results_id: id, button: 'confirm' });
      if (confirmed.status !== 302) throw new Error(`confirm refused: ${confirmed.status}`);
      // Confirm logs out (as the original); the result is the submitter's to see.
      const watcher = new WebSession(base);
      if ((await watcher.login('alice', 'alice-password')).status !== 302) throw new Error('login after confirm refused');
      await pollProgress(watcher, id, (p) => !!p.delivery, 600_000);
      const deliveredMs = performance.now() - confirmAt;
      rows.push({ label, bytes, uploadMs, readyMs, deliveredMs, rss, baseRss });
      for (let i = 0; i < 3; i++) archiveStep(path.join(site.config.serverFiles, 'deliveries')); // frees the delivery's links
    }
    const fmtMs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);
    const MB = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
    console.log('');
    console.log('file            size        upload    MiB/s   upload end → ready   confirm → delivered   web RSS idle → peak during upload');
    for (const r of rows) {
      console.log(
        `${r.label.padEnd(15)} ${(r.bytes < 1e6 ? `${(r.bytes / 1024).toFixed(0)} KiB` : MB(r.bytes)).padStart(8)} ${fmtMs(r.uploadMs).padStart(10)} ${(r.bytes / MiB / (r.uploadMs / 1000)).toFixed(1).padStart(8)} ${fmtMs(r.readyMs).padStart(20)} ${fmtMs(r.deliveredMs).padStart(21)}   ${MB(r.baseRss)} → ${MB(r.rss)}`,
      );
    }
    const small = rows[0]!;
    const big = rows[1]!;
    const mibs = big.bytes / MiB / (big.uploadMs / 1000);
    console.log('');
    console.log(`goal: small file confirm-ready ≤ 3 s after the upload's end: ${fmtMs(small.readyMs)} ${small.readyMs <= 3000 ? 'MET' : 'NOT MET'}`);
    console.log(`goal: upload ≥ 200 MiB/s over loopback: ${mibs.toFixed(1)} MiB/s ${mibs >= 200 ? 'MET' : 'NOT MET'}`);
    console.log(`goal: web memory < 150 MB during the big upload: peak ${MB(big.rss)} ${big.rss < 150e6 ? 'MET' : 'NOT MET'}`);
    console.log(`(chunks of ${UPLOAD_CHUNK_SIZE} bytes, one at a time as crds submit sends them; ${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(1)})`);
  } catch (err) {
    for (const p of [worker, web]) if (p) console.error(`--- output of pid ${p.child.pid}:\n${p.output().slice(-4000)}`);
    throw err;
  } finally {
    await stopProcess(web);
    await stopProcess(worker);
    await site.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
