// ops/manage gen-datasets --context CTX [--count N] [--seed S]     (generate from the rules)
// ops/manage gen-datasets --import FILE                            (a JSON header dump)
// Fills the dataset catalog that get_dataset_ids, get_dataset_headers_by_id and
// get_best_references_by_ids answer from. Generated datasets come from the context's own
// rules (crds/dataset-generator.ts): every matching keyword of their instrument's rmaps, and
// an observation date in the instrument's life; each run adds datasets under new ids (a
// site-wide serial), never replacing earlier ones. FILE is {dataset_id: {KEY: value}}.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { config } from '../../config';
import { MappingStore } from '../../crds';
import { datasetId, generateDatasetHeaders } from '../../crds/dataset-generator';
import { openDatabase } from '../../db';
import { appendDatasets, storeDatasets } from '../../db/datasets';

const USAGE = 'usage: ops/manage gen-datasets --context CTX [--count N] [--seed S] | --import FILE\n';
const INSTRUMENT_KEYS = ['INSTRUME', 'META.INSTRUMENT.NAME'];

/** `count` generated headers keyed by ids of this call only (for benchmarks that store nothing). */
export function generateHeaders(store: MappingStore, context: string, count: number, seed: number): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let n = 0;
  for (const header of generateDatasetHeaders(store, context, count, seed)) out[datasetId(header[store.loadContext(context).instrumentKey] ?? '', ++n)] = header;
  return out;
}

export default async function genDatasets(args: string[]): Promise<number> {
  const opts: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const m = /^--(context|count|seed|import)$/.exec(args[i]);
    if (args[i] === '-h' || args[i] === '--help') {
      process.stdout.write(USAGE);
      return 0;
    }
    if (!m || args[i + 1] === undefined) {
      process.stderr.write(`ops/manage gen-datasets: unexpected argument '${args[i]}'\n${USAGE}`);
      return 2;
    }
    opts[m[1]] = args[++i];
  }
  if (!opts.context === !opts.import) {
    process.stderr.write(`ops/manage gen-datasets: give --context or --import\n${USAGE}`);
    return 2;
  }
  const cfg = config();
  let headers: Record<string, Record<string, string>> | undefined;
  if (opts.import) {
    headers = JSON.parse(fs.readFileSync(opts.import, 'utf8'));
    if (!headers || typeof headers !== 'object' || Array.isArray(headers)) {
      process.stderr.write(`ops/manage gen-datasets: ${opts.import} must hold {dataset_id: {KEY: value}}\n`);
      return 1;
    }
  }
  const count = Number(opts.count ?? 1000);
  if (!Number.isInteger(count) || count < 1) {
    process.stderr.write(`ops/manage gen-datasets: --count must be a positive integer\n`);
    return 2;
  }
  const db = await openDatabase(cfg.databaseUrl);
  try {
    if (headers) {
      const n = await storeDatasets(db, headers, INSTRUMENT_KEYS);
      process.stdout.write(`stored ${n} datasets\n`);
      return 0;
    }
    const store = new MappingStore(path.join(cfg.fileCache, 'mappings', cfg.observatory), { ignoreChecksum: 'warn' });
    const started = Date.now();
    const generated = generateDatasetHeaders(store, opts.context, count, Number(opts.seed ?? Date.now() % 1_000_000));
    const r = await appendDatasets(db, generated, count, INSTRUMENT_KEYS);
    process.stdout.write(`stored ${r.stored} datasets (${r.first} … ${r.last}) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    return 0;
  } finally {
    await db.close();
  }
}
