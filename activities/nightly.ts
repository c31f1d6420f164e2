// The nightly steps besides the backup and the consistency checks (activities/backup.ts,
// activities/consistency.ts): the self-test of the live site from the worker, the
// diagnostics, the report (stored for the dashboard, mailed to CRDS_OPS_MAIL_TO) and, on
// dev and test sites with CRDS_NIGHTLY_REBUILD=1, the rebuild, test and restart.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import nodemailer from 'nodemailer';
import { REPO_ROOT, type Config } from '../config';
import type { Database } from '../db';
import { MappingStore } from '../crds';
import { defaultContexts } from '../db/catalog';
import { catalogCounts, checkConsistency, type ConsistencyReport } from './consistency';
import { folderUsage, writeJsonAtomic } from './ops-files';

export interface SelfTestCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface Diagnostics {
  disk: { folder: string; path: string; bytes: number; files: number }[];
  free: { path: string; freeBytes: number; totalBytes: number }[];
  versions: Record<string, string>;
  catalog: Record<string, number>;
  schedules: { scheduleId: string; paused: boolean; lastRun?: string; lastWorkflowId?: string; lastStatus?: string; nextRun?: string }[];
}

export interface StepOutcome {
  step: string;
  ok: boolean;
  seconds: number;
  /** The activity's result (ok) or failure message. */
  result?: unknown;
  error?: string;
}

export interface NightlyReport {
  name: string;
  workflowId: string;
  startedAt: string;
  finishedAt: string;
  ok: boolean;
  steps: StepOutcome[];
  diagnostics?: Diagnostics;
  mailed: { sent: boolean; to: string[] };
}

export const reportsDir = (config: Config): string => path.join(config.serverFiles, 'ops', 'nightly');

/** Stored nightly reports, newest first (at most `limit`). */
export function readNightlyReports(config: Config, limit = 30): NightlyReport[] {
  const dir = reportsDir(config);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .sort()
    .reverse()
    .slice(0, limit)
    .flatMap((n) => {
      try {
        return [JSON.parse(fs.readFileSync(path.join(dir, n), 'utf8')) as NightlyReport];
      } catch {
        return [];
      }
    });
}

const sha1 = (bytes: Buffer): string => createHash('sha1').update(bytes).digest('hex');

/** The self-test: the live JSON-RPC API and downloads, end to end from the worker. */
export async function selfTest(db: Database, config: Config, options: { maxFiles?: number; datasets?: number } = {}): Promise<SelfTestCheck[]> {
  const site = config.siteUrl;
  const obs = config.observatory;
  const checks: SelfTestCheck[] = [];
  let id = 0;
  const rpc = async <T>(method: string, ...params: unknown[]): Promise<T> => {
    const res = await fetch(`${site}/json/${method}/nightly-${++id}/`, { method: 'POST', body: JSON.stringify({ jsonrpc: '1.0', method, params, id }), signal: AbortSignal.timeout(60_000) });
    if (res.status !== 200) throw new Error(`HTTP ${res.status} from ${method}`);
    const env = (await res.json()) as { result: T; error: null | { message: string } };
    if (env.error) throw new Error(env.error.message);
    return env.result;
  };
  const check = async (name: string, run: () => Promise<string>) => {
    try {
      checks.push({ name, ok: true, detail: await run() });
    } catch (err) {
      checks.push({ name, ok: false, detail: (err as Error).message });
    }
  };
  let context = '';
  await check('server info', async () => {
    const info = await rpc<{ observatory: string; operational_context: string; edit_context: string }>('get_server_info');
    if (info.observatory !== obs) throw new Error(`observatory ${info.observatory}, expected ${obs}`);
    context = info.operational_context;
    return `${info.observatory}, operational ${info.operational_context}, edit ${info.edit_context}`;
  });
  if (!context) context = (await defaultContexts(db)).latest;
  await check('closure download', async () => {
    if (!context) throw new Error('no operational context');
    const mappings = await rpc<string[]>('get_mapping_names', context);
    const references = await rpc<string[]>('get_reference_names', context);
    // The pmap and imaps always, then rmaps and references up to the cap.
    const max = options.maxFiles ?? 40;
    const wanted = [...mappings.filter((m) => !m.endsWith('.rmap')), ...mappings.filter((m) => m.endsWith('.rmap')).slice(0, max)];
    const catalogued = new Set((await db.models.CatalogFile.findAll({ attributes: ['name'], where: { name: references.slice(0, 2000), type: 'reference' } })).map((r) => r.name));
    const refs = references.filter((r) => catalogued.has(r)).slice(0, Math.max(1, Math.floor(max / 4)));
    const info = await rpc<Record<string, { sha1sum: string; size: string } | string>>('get_file_info_map', obs, [...wanted, ...refs], ['sha1sum', 'size']);
    let bytes = 0;
    const bad: string[] = [];
    for (const name of [...wanted, ...refs]) {
      const kind = refs.includes(name) ? 'references' : 'mappings';
      const res = await fetch(`${site}/unchecked_get/${kind}/${obs}/${name}`, { signal: AbortSignal.timeout(300_000) });
      const body = Buffer.from(await res.arrayBuffer());
      const expected = info[name];
      if (res.status !== 200) bad.push(`${name}: HTTP ${res.status}`);
      else if (typeof expected !== 'object' || sha1(body) !== expected.sha1sum) bad.push(`${name}: sha1 ${sha1(body)}, file info ${typeof expected === 'object' ? expected.sha1sum : expected}`);
      bytes += body.length;
    }
    if (bad.length) throw new Error(`${bad.length} of ${wanted.length + refs.length} downloads wrong: ${bad.join('; ')}`);
    return `${context}: ${wanted.length} mappings and ${refs.length} references downloaded (${bytes} bytes), sha1s match`;
  });
  await check('best references', async () => {
    const rows = await db.models.Dataset.findAll({ limit: options.datasets ?? 3, order: [['datasetId', 'ASC']] });
    if (!rows.length) return 'skipped: no stored datasets';
    const pmap = new MappingStore(path.join(config.fileCache, 'mappings', obs)).loadContext(context);
    const differ: string[] = [];
    for (const r of rows) {
      const remote = await rpc<Record<string, unknown>>('get_best_references', context, r.header, []);
      const local = pmap.getBestReferences(r.header, []);
      if (JSON.stringify(remote, Object.keys(remote).sort()) !== JSON.stringify(local, Object.keys(remote).sort())) differ.push(r.datasetId);
    }
    if (differ.length) throw new Error(`the server and the local rules engine disagree for ${differ.join(', ')}`);
    return `${rows.length} datasets (${rows.map((r) => r.datasetId).join(', ')}) agree with the local rules engine under ${context}`;
  });
  return checks;
}

function freeSpace(p: string): { path: string; freeBytes: number; totalBytes: number } {
  let dir = p;
  while (!fs.existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  const s = fs.statfsSync(dir);
  return { path: p, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
}

function projectCommit(): string {
  const r = spawnSync('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

export async function diagnostics(db: Database, config: Config): Promise<Diagnostics> {
  const obs = config.observatory;
  const folders: [string, string][] = [
    ['mappings', path.join(config.fileCache, 'mappings', obs)],
    ['references', path.join(config.fileCache, 'references', obs)],
    ...['uploads', 'ingest', 'deliveries', 'catalogs', 'backups'].map((f): [string, string] => [f, path.join(config.serverFiles, f)]),
  ];
  const disk = folders.map(([folder, p]) => ({ folder, path: p, ...folderUsage(p) }));
  const versions: Record<string, string> = { node: process.version, project: projectCommit() };
  const [[dbVersion]] = (await db.sequelize.query(db.dialect === 'mysql' ? 'SELECT VERSION() AS v' : 'SELECT sqlite_version() AS v')) as [{ v: string }[], unknown];
  versions.database = `${db.dialect} ${dbVersion?.v ?? '?'}`;
  const client = Context.current().client;
  try {
    const info = await client.workflowService.getSystemInfo({});
    versions.temporal = info.serverVersion || 'unknown';
  } catch (err) {
    versions.temporal = `unavailable: ${(err as Error).message}`;
  }
  const schedules: Diagnostics['schedules'] = [];
  for await (const s of client.schedule.list()) {
    const d = await client.schedule.getHandle(s.scheduleId).describe();
    const last = d.info.recentActions[d.info.recentActions.length - 1];
    let lastStatus: string | undefined;
    if (last) {
      try {
        lastStatus = (await client.workflow.getHandle(last.action.workflow.workflowId, last.action.workflow.firstExecutionRunId).describe()).status.name;
      } catch {
        lastStatus = 'unknown';
      }
    }
    schedules.push({
      scheduleId: s.scheduleId,
      paused: d.state.paused,
      lastRun: last?.takenAt.toISOString(),
      lastWorkflowId: last?.action.workflow.workflowId,
      lastStatus,
      nextRun: d.info.nextActionTimes[0]?.toISOString(),
    });
  }
  const free = [freeSpace(config.fileCache), freeSpace(config.serverFiles)];
  return { disk, free, versions, catalog: await catalogCounts(db), schedules };
}

const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

/** The report as one readable plain-text mail. */
export function nightlyMail(config: Config, report: Omit<NightlyReport, 'mailed'>): { subject: string; text: string } {
  const failed = report.steps.filter((s) => !s.ok).map((s) => s.step);
  const consistency = report.steps.find((s) => s.step === 'consistency')?.result as ConsistencyReport | undefined;
  const findings = consistency?.findings.length ?? 0;
  const subject = `CRDS ${config.observatory.toUpperCase()} ${config.usecase} nightly ${report.name}: ${failed.length ? `FAILED (${failed.join(', ')})` : 'ok'}${findings ? `, ${findings} findings` : ''}`;
  const lines = [`Nightly run ${report.workflowId} of ${config.siteUrl}, ${report.startedAt} to ${report.finishedAt}.`, ''];
  for (const s of report.steps) lines.push(`${s.ok ? 'ok    ' : 'FAILED'} ${s.step} (${s.seconds.toFixed(1)} s)${s.error ? `: ${s.error}` : ''}`);
  const selftest = report.steps.find((s) => s.step === 'self-test')?.result as SelfTestCheck[] | undefined;
  if (selftest) {
    lines.push('', 'Self-test:');
    for (const c of selftest) lines.push(`  ${c.ok ? 'ok    ' : 'FAILED'} ${c.name}: ${c.detail}`);
  }
  if (consistency) {
    lines.push('', `Consistency: ${findings} findings; sha1 verified for ${consistency.sha1.verified} of ${consistency.sha1.of} files (night ${consistency.sha1.night + 1} of ${consistency.sha1.nights}).`);
    for (const f of consistency.findings.slice(0, 200)) lines.push(`  ${f.check}: ${f.name}: ${f.detail}`);
    if (findings > 200) lines.push(`  … and ${findings - 200} more (see the dashboard)`);
  }
  const d = report.diagnostics;
  if (d) {
    lines.push('', 'Disk usage:');
    for (const u of d.disk) lines.push(`  ${u.folder.padEnd(12)} ${mb(u.bytes).padStart(12)} ${String(u.files).padStart(8)} files  ${u.path}`);
    for (const f of d.free) lines.push(`  free ${mb(f.freeBytes)} of ${mb(f.totalBytes)} at ${f.path}`);
    lines.push('', 'Versions:', ...Object.entries(d.versions).map(([k, v]) => `  ${k}: ${v}`));
    lines.push('', 'Catalog:', ...Object.entries(d.catalog).map(([k, v]) => `  ${k}: ${v}`));
    lines.push('', 'Schedules:');
    for (const s of d.schedules) lines.push(`  ${s.scheduleId}${s.paused ? ' (paused)' : ''}: last ${s.lastRun ?? 'never'} ${s.lastStatus ?? ''}, next ${s.nextRun ?? 'none'}`);
  }
  lines.push('', `Dashboard: ${config.siteUrl}/ops/`);
  return { subject, text: lines.join('\n') + '\n' };
}

/**
 * Runs one of the project's ops commands without blocking the worker (the test suite takes
 * many minutes: a synchronous run would stall every workflow and activity of this worker),
 * its output appended to `log`, heartbeating with its last line meanwhile.
 */
function runLogged(command: string, args: string[], log: string): Promise<{ status: number | null; tail: string }> {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(log, 'a');
    fs.writeSync(out, `\n$ ${command} ${args.join(' ')}\n`);
    const child = spawn(path.join(REPO_ROOT, command), args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const take = (chunk: Buffer) => {
      fs.writeSync(out, chunk);
      tail = (tail + chunk.toString()).slice(-64 * 1024);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const beat = setInterval(() => {
      try {
        Context.current().heartbeat({ command, last: tail.trimEnd().split('\n').pop()?.slice(0, 200) });
      } catch {
        /* outside an activity */
      }
    }, 10_000);
    const done = () => {
      clearInterval(beat);
      fs.closeSync(out);
    };
    child.on('error', (err) => (done(), reject(err)));
    child.on('close', (status) => (done(), resolve({ status, tail })));
  });
}

/**
 * The dev/test rebuild: install, the test suite (on its own throwaway services), and a restart
 * only when it passes. The commands' output is kept in <server files>/ops/nightly/rebuild-<run>.log.
 */
export async function rebuild(config: Config, name: string): Promise<{ tests: string; restarted: boolean; log?: string }> {
  if (!config.ops.nightlyRebuild || !['dev', 'test'].includes(config.usecase)) return { tests: 'not run (CRDS_NIGHTLY_REBUILD is off, or not a dev/test site)', restarted: false };
  fs.mkdirSync(reportsDir(config), { recursive: true });
  const log = path.join(reportsDir(config), `rebuild-${name.replace(/[^\w.-]/g, '_')}.log`);
  const install = await runLogged('ops/install', [], log);
  if (install.status !== 0) throw ApplicationFailure.nonRetryable(`ops/install failed (see ${log}): ${install.tail.slice(-2000)}`, 'RebuildFailed');
  const tests = await runLogged('ops/runtests', config.ops.nightlyRebuildTests, log);
  const summary = tests.tail.split('\n').filter((l) => /^(Tests|Test Suites|Time):|^jest: |^ops\/runtests finished/.test(l)).join('; ');
  if (tests.status !== 0) throw ApplicationFailure.nonRetryable(`ops/runtests failed, the site is not restarted (see ${log}): ${summary || tests.tail.slice(-500)}`, 'RebuildFailed');
  // ops/rerun stops this very worker: detached, it outlives us; Temporal keeps running submissions.
  const out = fs.openSync(log, 'a');
  fs.writeSync(out, '\n$ ops/rerun\n');
  spawn(path.join(REPO_ROOT, 'ops', 'rerun'), [], { cwd: REPO_ROOT, detached: true, stdio: ['ignore', out, out] }).unref();
  fs.closeSync(out);
  return { tests: summary, restarted: true, log };
}

export function createNightlyActivities(deps: { db: Database; config: Config }) {
  const { db, config } = deps;
  const transport = config.mail.smtpUrl ? nodemailer.createTransport(config.mail.smtpUrl) : undefined;
  return {
    async checkConsistency(input: { at?: string } = {}): Promise<ConsistencyReport> {
      return checkConsistency(db, config, input.at ? new Date(input.at) : new Date());
    },
    async selfTest(): Promise<SelfTestCheck[]> {
      const checks = await selfTest(db, config);
      const failed = checks.filter((c) => !c.ok);
      // A failing check fails the step (reported), with every check's outcome in the message.
      if (failed.length) throw ApplicationFailure.nonRetryable(failed.map((c) => `${c.name}: ${c.detail}`).join('; '), 'SelfTestFailed', checks);
      return checks;
    },
    async collectDiagnostics(): Promise<Diagnostics> {
      return diagnostics(db, config);
    },
    async rebuildSite(input: { name?: string } = {}): Promise<{ tests: string; restarted: boolean; log?: string }> {
      return rebuild(config, input.name ?? new Date().toISOString());
    },
    /** Stores the report for the dashboard and mails it; idempotent by name. */
    async reportNightly(input: Omit<NightlyReport, 'mailed'>): Promise<NightlyReport['mailed']> {
      const { subject, text } = nightlyMail(config, input);
      const to = config.ops.mailTo;
      let sent = false;
      if (transport && to.length) {
        await transport.sendMail({ from: config.mail.from, to, subject, text, messageId: `<${input.workflowId}.nightly@crds.${config.observatory}>` });
        sent = true;
      } else {
        Context.current().log.info(`nightly mail skipped (${transport ? 'no CRDS_OPS_MAIL_TO' : 'no CRDS_SMTP_URL'}): ${subject}`);
      }
      const mailed = { sent, to };
      writeJsonAtomic(path.join(reportsDir(config), `${input.name}.json`), { ...input, mailed });
      return mailed;
    },
  };
}

export type NightlyActivities = ReturnType<typeof createNightlyActivities>;
