// Affected-datasets benchmark (issue #11): the whole computation of a real HST transition —
// dataset catalog reads, best references under both contexts, batches stored, results merged —
// by the affectedDatasetsWorkflow with one and with two worker processes, beside the real
// client's `crds bestrefs --affected-datasets` against our server (it reads our
// get_dataset_ids / get_dataset_headers_by_id) on a sample of the same datasets. Real MariaDB
// and Temporal (throwaway ones: run through bench/affected, or set CRDS_TEST_MYSQL_URL and
// TEMPORAL_ADDRESS yourself), the real HST rules of ../shared/data.
//
//   bench/affected [--datasets N] [--client-datasets M] [--old hst_0251.pmap] [--new hst_0264.pmap]
//                  [--batch-size 5000] [--parallelism 8] [--no-client]
//
// Steps: generate half of --client-datasets headers from the new context's rules
// (crds/dataset-generator, as `ops/manage gen-datasets`) into the catalog, run the real client
// on them twice (cold, then warm cache), add the other half and time it again (its marginal
// rate leaves its start out); add datasets up to --datasets; time a workflow run with one
// worker, then start a second worker and time another run (batches per worker and the
// workers' CPU seconds are printed). First, without services, the engine alone (the comparison of each dataset under
// both contexts, no database) with the choice memo and without it (CPU time).
// Prints datasets per second side by side with the real client's as ratios (goals: 1,000,000
// datasets in under 60 s on this 2-core machine, ≥ 100× the real client). No assertions on
// timings: the machine is shared (the load average is printed).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { QueryTypes } from 'sequelize';
import { MappingStore } from '../crds';
import { planTransition, TransitionComparer } from '../crds/affected';
import { generateDatasetHeaders } from '../crds/dataset-generator';
import type { AffectedInput, AffectedOutcome } from '../activities/affected';
import { AFFECTED_PROGRESS_QUERY, AFFECTED_WORKFLOW_TYPE, type AffectedProgress } from '../workflows/affected-types';
import { startAffectedSite } from '../test/affected/harness';
import { crds } from '../test/jsonrpc/site';
import { MAPPINGS } from '../test/support/paths';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const DATASETS = Number(opt('datasets', '100000'));
const CLIENT_DATASETS = Math.min(DATASETS, Number(opt('client-datasets', '2000')));
const OLD = opt('old', 'hst_0251.pmap');
const NEW = opt('new', 'hst_0264.pmap');
const BATCH_SIZE = Number(opt('batch-size', '5000'));
const PARALLELISM = Number(opt('parallelism', '8'));
const NO_CLIENT = args.includes('--no-client');
const SEED = 1101;

const say = (s: string) => process.stderr.write(s + '\n');
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const rate = (n: number, ms: number) => (ms > 0 ? (n / ms) * 1000 : 0);
const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** The engine alone on `count` generated datasets: CPU ms and datasets compared, memo on or off. */
function engineOnly(memo: boolean, headers: Record<string, string>[]): { ms: number; compared: number } {
  const store = new MappingStore(MAPPINGS, { memoizeChoices: memo });
  const read = (name: string) => fs.readFileSync(path.join(MAPPINGS, 'hst', path.basename(name)), 'utf8');
  const plan = planTransition(store, read, OLD, NEW);
  const cmp = new TransitionComparer(store.loadContext(OLD), store.loadContext(NEW), plan);
  let compared = 0;
  const t = cpuMs();
  headers.forEach((h, i) => {
    const instrument = (h.INSTRUME ?? '').toLowerCase();
    if (!plan.affected[instrument] || !cmp.considers(instrument, h)) return;
    compared++;
    cmp.compare(`D${i}`, h);
  });
  return { ms: cpuMs() - t, compared };
}

interface Timed {
  label: string;
  datasets: number;
  ms: number;
  note: string;
}

async function main(): Promise<void> {
  say(`bench/affected: ${OLD} -> ${NEW}, ${DATASETS} datasets (client sample ${NO_CLIENT ? 'none' : CLIENT_DATASETS}); load average ${load()}`);
  const rows: Timed[] = [];

  // 1. The engine alone, memo off and on (same headers, one process, CPU time).
  const sample = [...generateDatasetHeaders(new MappingStore(MAPPINGS), NEW, Math.min(DATASETS, 50_000), SEED)];
  const plain = engineOnly(false, sample);
  const memo = engineOnly(true, sample);
  say(`engine only: plain ${fmt(rate(plain.compared, plain.ms))}/s, memo ${fmt(rate(memo.compared, memo.ms))}/s (CPU time, ${memo.compared} datasets compared)`);

  // 2. A site with the two contexts' rules, the catalog filled with generated datasets.
  const s = await startAffectedSite('affbench', [OLD, NEW]);
  try {
    let stored = 0;
    const fill = async (upTo: number) => {
      const t = Date.now();
      const before = stored;
      while (stored < upTo) {
        const n = Math.min(100_000, upTo - stored);
        stored += await s.addDatasets(NEW, n, SEED + stored);
        say(`  catalog: ${stored} datasets`);
      }
      say(`filled ${stored - before} datasets in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    };

    // 3. The real client on a sample: half of it twice (the first run fills the client's cache),
    // then all of it; its marginal rate (the difference of the last two) leaves out its start.
    let clientRow: Timed | undefined;
    let clientMarginal = 0;
    if (!NO_CLIENT) {
      const cache = path.join(s.site.work, 'client-cache');
      const client = async (label: string): Promise<Timed> => {
        const t = Date.now();
        const r = await crds(s.site, cache, ['bestrefs', '--affected-datasets', '--old-context', OLD, '--new-context', NEW]);
        const ms = Date.now() - t;
        // Datasets it compared: the ones of the affected instruments since their dates, as ours count them.
        const compared = await countCompared(s);
        const affected = /Affected products = (\d+)/.exec(r.stderr)?.[1] ?? '?';
        say(`client (${label}): ${compared} datasets compared in ${ms} ms`);
        return { label: 'real client (crds bestrefs --affected-datasets)', datasets: compared, ms, note: `${label}; exit ${r.status}, ${affected} affected products, load ${load()}` };
      };
      await fill(Math.floor(CLIENT_DATASETS / 2));
      await client('cold cache');
      const half = await client('warm');
      await fill(CLIENT_DATASETS);
      clientRow = await client('warm');
      clientMarginal = rate(clientRow.datasets - half.datasets, clientRow.ms - half.ms);
    }

    // 4. Ours with one worker, then two, on the whole catalog.
    await fill(DATASETS);
    const pids = [(await s.startWorker()).child.pid!]; // (the site stops its workers on close)
    const runOnce = async (label: string, id: string): Promise<Timed> => {
      const input: AffectedInput = { observatory: 'hst', oldContext: OLD, newContext: NEW, kind: 'preview', requestedBy: 'bench', batchSize: BATCH_SIZE, parallelism: PARALLELISM };
      const before = load();
      const cpu0 = workerCpuSeconds(pids);
      const t = Date.now();
      const handle = await s.client.workflow.start(AFFECTED_WORKFLOW_TYPE, { taskQueue: s.site.config.temporal.taskQueue, workflowId: id, args: [input] });
      const outcome = (await handle.result()) as AffectedOutcome;
      const ms = Date.now() - t;
      // Batches per worker process (the workflow's progress query answers after the end too).
      const progress = await handle.query<AffectedProgress>(AFFECTED_PROGRESS_QUERY).catch(() => undefined);
      const split = Object.values(progress?.workers ?? {}).join('+') || '?';
      say(`${label}: ${outcome.datasets} datasets, ${outcome.affected} affected, ${ms} ms, batches per worker ${split}`);
      const cpu = workerCpuSeconds(pids) - cpu0;
      return { label, datasets: outcome.datasets, ms, note: `batches per worker ${split}, workers' CPU ${cpu.toFixed(1)} s; ${outcome.affected} affected, ${outcome.errors} errors; load ${before} → ${load()}` };
    };
    rows.push(await runOnce('ours, 1 worker (affectedDatasetsWorkflow)', `bench-affected-1-${Date.now()}`));
    pids.push((await s.startWorker()).child.pid!);
    rows.push(await runOnce('ours, 2 workers', `bench-affected-2-${Date.now()}`));
    if (clientRow) rows.push(clientRow);

    // 5. The table.
    const base = clientRow ? rate(clientRow.datasets, clientRow.ms) : 0;
    const out: string[] = [];
    out.push(`affected datasets ${OLD} -> ${NEW}; catalog ${stored} generated HST datasets; batches of ${BATCH_SIZE}, ${PARALLELISM} in flight`);
    out.push(`engine alone (no database, CPU time, ${memo.compared} datasets): memo ${fmt(rate(memo.compared, memo.ms))}/s vs plain ${fmt(rate(plain.compared, plain.ms))}/s = ${(rate(memo.compared, memo.ms) / rate(plain.compared, plain.ms)).toFixed(1)}×`);
    out.push('');
    // datasets = those compared (the affected instruments' since their dates), as the client counts
    // them; "per 1M catalog" scales the run's time to a catalog of 1,000,000 like this one.
    out.push(`${'run'.padEnd(48)} ${'datasets'.padStart(9)} ${'seconds'.padStart(8)} ${'datasets/s'.padStart(11)} ${'vs client'.padStart(10)} ${'per 1M catalog'.padStart(15)}`);
    for (const r of rows) {
      const per = rate(r.datasets, r.ms);
      const catalog = r === clientRow ? CLIENT_DATASETS : stored;
      const million = `${fmt((r.ms / 1000) * (1_000_000 / catalog))} s`;
      out.push(`${r.label.padEnd(48)} ${String(r.datasets).padStart(9)} ${(r.ms / 1000).toFixed(1).padStart(8)} ${fmt(per).padStart(11)} ${(base ? `${(per / base).toFixed(1)}×` : '-').padStart(10)} ${million.padStart(15)}  ${r.note}`);
    }
    out.push('');
    if (clientMarginal > 0) {
      const best = Math.max(...rows.filter((r) => r !== clientRow).map((r) => rate(r.datasets, r.ms)));
      out.push(`real client's marginal rate (its runs on ${Math.floor(CLIENT_DATASETS / 2)} and ${CLIENT_DATASETS} datasets, start left out): ${fmt(clientMarginal)}/s; ours ${fmt(best)}/s = ${(best / clientMarginal).toFixed(1)}× that`);
    }
    out.push(`goals: 1,000,000 datasets in < 60 s; ≥ 100× the real client's datasets/s. Load average now ${load()} (2 cores, shared).`);
    console.log(out.join('\n'));
  } finally {
    await s.close();
  }
}

/** CPU seconds (user + system) the worker processes have used so far (/proc/PID/stat). */
function workerCpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    } catch {
      // gone
    }
  }
  return ticks / 100; // USER_HZ
}

/** Datasets in the catalog that a comparison looks at (affected instruments, since their dates). */
async function countCompared(s: Awaited<ReturnType<typeof startAffectedSite>>): Promise<number> {
  const store = new MappingStore(path.join(s.site.fileCache, 'mappings', 'hst'), { ignoreChecksum: true });
  const read = (name: string) => fs.readFileSync(path.join(s.site.fileCache, 'mappings', 'hst', path.basename(name)), 'utf8');
  const plan = planTransition(store, read, OLD, NEW);
  let n = 0;
  for (const [instrument, since] of Object.entries(plan.since)) {
    const [row] = await s.site.db.sequelize.query<{ n: number }>('SELECT COUNT(*) AS n FROM datasets WHERE instrument = ? AND exptime >= ?', {
      replacements: [instrument, since],
      type: QueryTypes.SELECT,
    });
    n += Number(row.n);
  }
  return n;
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
