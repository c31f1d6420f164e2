// ops/manage bestrefs --mappings DIR --context NAME [--reftypes a,b] --headers FILE
// Best references of each dataset header in FILE ({dataset_id: {KEY: value}}) under the
// context, printed as JSON {dataset_id: {reftype: result}} with results exactly as the
// server's get_best_references (file name, "NOT FOUND n/a", "NOT FOUND <message>").
// A dataset whose header cannot be looked up at all (no or unknown instrument) gets
// {"ERROR": "<message>"}.
import * as fs from 'node:fs';
import { CrdsError, MappingStore, type HeaderValue } from '../../crds';

const USAGE =
  'usage: ops/manage bestrefs --mappings DIR --context NAME [--reftypes a,b] --headers FILE\n' +
  '  FILE is JSON {dataset_id: {KEYWORD: value}}; prints JSON {dataset_id: {reftype: result}}.\n';

export default async function bestrefs(args: string[]): Promise<number> {
  const opts: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '-h' || arg === '--help') {
      process.stdout.write(USAGE);
      return 0;
    }
    const m = /^--(mappings|context|reftypes|headers)(?:=(.*))?$/.exec(arg);
    if (!m) {
      process.stderr.write(`ops/manage bestrefs: unexpected argument '${arg}'\n${USAGE}`);
      return 2;
    }
    const value = m[2] ?? args[++i];
    if (value === undefined) {
      process.stderr.write(`ops/manage bestrefs: --${m[1]} needs a value\n${USAGE}`);
      return 2;
    }
    opts[m[1]] = value;
  }
  for (const required of ['mappings', 'context', 'headers']) {
    if (!opts[required]) {
      process.stderr.write(`ops/manage bestrefs: --${required} is required\n${USAGE}`);
      return 2;
    }
  }
  let headers: Record<string, Record<string, HeaderValue>>;
  try {
    headers = JSON.parse(fs.readFileSync(opts.headers, 'utf8'));
  } catch (exc) {
    process.stderr.write(`ops/manage bestrefs: cannot read headers from '${opts.headers}': ${(exc as Error).message}\n`);
    return 1;
  }
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    process.stderr.write(`ops/manage bestrefs: '${opts.headers}' must hold a JSON object {dataset_id: {KEY: value}}\n`);
    return 1;
  }
  const reftypes = opts.reftypes ? opts.reftypes.split(',').map((t) => t.trim()).filter(Boolean) : undefined;
  const store = new MappingStore(opts.mappings);
  let context;
  try {
    context = store.loadContext(opts.context);
  } catch (exc) {
    process.stderr.write(`ops/manage bestrefs: cannot load context '${opts.context}': ${(exc as Error).message}\n`);
    return 1;
  }
  const out: Record<string, unknown> = {};
  let failures = 0;
  for (const [dataset, header] of Object.entries(headers)) {
    if (typeof header !== 'object' || header === null || Array.isArray(header)) {
      out[dataset] = { ERROR: 'header must be a JSON object of keyword values' };
      failures++;
      continue;
    }
    // Like the real client: only scalar values take part.
    const scalars: Record<string, HeaderValue> = {};
    for (const [k, v] of Object.entries(header)) {
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') scalars[k] = v;
    }
    try {
      out[dataset] = context.getBestReferences(scalars, reftypes);
    } catch (exc) {
      if (!(exc instanceof CrdsError)) throw exc;
      out[dataset] = { ERROR: exc.message };
      failures++;
    }
  }
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  return failures ? 1 : 0;
}
