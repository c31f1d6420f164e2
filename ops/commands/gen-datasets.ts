// ops/manage gen-datasets --context CTX [--count N] [--seed S]     (generate from the rules)
// ops/manage gen-datasets --import FILE                            (a JSON header dump)
// Fills the dataset catalog that get_dataset_ids, get_dataset_headers_by_id and
// get_best_references_by_ids answer from. Generated datasets are built from the context's
// own rules: each takes one Match row of one rmap (its first alternative for or-lists, a
// value standing in for wildcards, nothing for N/A) and a date just after one of the row's
// UseAfter dates, so their best references are real files. FILE is {dataset_id: {KEY: value}}.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { config } from '../../config';
import { MappingStore, pyStr, ReferenceMapping, type PyValue } from '../../crds';
import { openDatabase } from '../../db';
import { storeDatasets } from '../../db/datasets';

const USAGE = 'usage: ops/manage gen-datasets --context CTX [--count N] [--seed S] | --import FILE\n';
const INSTRUMENT_KEYS = ['INSTRUME', 'META.INSTRUMENT.NAME'];

/** A small deterministic generator (mulberry32), so the same seed gives the same datasets. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One concrete header value for a Match pattern; undefined for N/A (leave the key out). */
function concrete(pattern: string): string | undefined {
  if (pattern === 'N/A') return undefined;
  if (pattern === '*') return 'ANY';
  const first = pattern.split('|')[0];
  const between = /^BETWEEN\s+(\S+)\s+(\S+)/.exec(first);
  if (between) return String((Number(between[1]) + Number(between[2])) / 2);
  const range = /^#([<>]=?)?\s*(-?[\d.]+)/.exec(first);
  if (range) return range[2];
  return first.replace(/^#|#$/g, '');
}

export function generateHeaders(store: MappingStore, context: string, count: number, seed: number): Record<string, Record<string, string>> {
  const pmap = store.loadContext(context);
  const rand = random(seed);
  const rmaps = pmap.mappingNames().filter((n) => n.endsWith('.rmap')).map((n) => store.load(n)).filter((m): m is ReferenceMapping => m instanceof ReferenceMapping);
  const out: Record<string, Record<string, string>> = {};
  for (let n = 0; Object.keys(out).length < count && n < count * 20; n++) {
    const rmap = rmaps[Math.floor(rand() * rmaps.length)];
    const sel = rmap.ast.selector;
    if (sel.t !== 'call' || sel.name !== 'Match' || !sel.arg.entries.length) continue;
    const parkey = rmap.header['parkey'];
    if (!parkey || parkey.t !== 'tuple' || parkey.items[0]?.t !== 'tuple') continue;
    const matchKeys = parkey.items[0].items.map((k) => pyStr(k));
    const dateKeys = parkey.items[1]?.t === 'tuple' ? parkey.items[1].items.map((k) => pyStr(k)) : [];
    const row = sel.arg.entries[Math.floor(rand() * sel.arg.entries.length)];
    const values: PyValue[] = row.key.t === 'tuple' ? row.key.items : [row.key];
    const header: Record<string, string> = { [pmap.instrumentKey]: rmap.instrument.toUpperCase() };
    matchKeys.forEach((k, i) => {
      const v = values[i] ? concrete(pyStr(values[i])) : undefined;
      if (v !== undefined) header[k] = v;
    });
    const nested = row.value;
    if (nested.t === 'call' && nested.name === 'UseAfter' && nested.arg.entries.length && dateKeys.length) {
      const useafter = pyStr(nested.arg.entries[Math.floor(rand() * nested.arg.entries.length)].key);
      const [date, time = '00:00:00'] = useafter.split(' ');
      // A day after the UseAfter date: that row's reference (or a later one) applies.
      const next = new Date(Date.parse(`${date}T${time.slice(0, 8)}Z`) + 86_400_000);
      if (!Number.isNaN(next.getTime())) {
        const iso = next.toISOString();
        if (dateKeys.length >= 2) {
          header[dateKeys[0]] = iso.slice(0, 10);
          header[dateKeys[1]] = iso.slice(11, 19);
        } else header[dateKeys[0]] = iso.slice(0, 19).replace('T', ' ');
      }
    }
    const product = `${rmap.instrument.slice(0, 1).toUpperCase()}${String(n).padStart(8, '0')}`;
    out[`${product}:${product}Q`] = header;
  }
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
  let headers: Record<string, Record<string, string>>;
  if (opts.import) {
    headers = JSON.parse(fs.readFileSync(opts.import, 'utf8'));
    if (!headers || typeof headers !== 'object' || Array.isArray(headers)) {
      process.stderr.write(`ops/manage gen-datasets: ${opts.import} must hold {dataset_id: {KEY: value}}\n`);
      return 1;
    }
  } else {
    const count = Number(opts.count ?? 1000);
    const store = new MappingStore(path.join(cfg.fileCache, 'mappings', cfg.observatory), { ignoreChecksum: 'warn' });
    headers = generateHeaders(store, opts.context, count, Number(opts.seed ?? 1));
  }
  const db = await openDatabase(cfg.databaseUrl);
  try {
    const n = await storeDatasets(db, headers, INSTRUMENT_KEYS);
    process.stdout.write(`stored ${n} datasets\n`);
    return 0;
  } finally {
    await db.close();
  }
}
