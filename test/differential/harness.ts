// Shared pieces of the differential tests: running the real `crds` library (Python oracle
// scripts in ./oracle) at test time, reading their JSON-lines output, and comparing best
// references type by type with a compact summary of disagreements.
//
// Expected answers are never stored in the repository: they are computed by the real
// library on the real rules (../shared/data) every time the tests run, into os.tmpdir().
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { CRDS_PYTHON, MAPPINGS } from '../support/paths';

export const ORACLE_DIR = path.join(__dirname, 'oracle');

/** A best-reference value as the server's JSON carries it. */
export type BestrefValue = string | string[] | { unserializable: string };
export type Bestrefs = Record<string, BestrefValue>;

export interface HeaderRecord {
  context: string;
  id: string;
  seed_rmap: string | null;
  variant: string;
  header: Record<string, string | number>;
  reftypes?: string[];
}

export interface OracleAnswer {
  id: string;
  result?: Bestrefs;
  rmaps?: Record<string, string | null>;
  error?: string;
  error_type?: string;
}

export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Fail early, with a message that says what to do, when the real library is not installed. */
export function requireRealCrds(): void {
  if (!fs.existsSync(CRDS_PYTHON)) {
    throw new Error(
      `The real Python crds library is needed for the differential tests: ${CRDS_PYTHON} does not exist. ` +
        'Run ops/install (it creates .venv with crds[submission]) or set CRDS_PYTHON.',
    );
  }
  if (!fs.existsSync(path.join(MAPPINGS, 'hst', 'hst_0729.pmap'))) {
    throw new Error(`The real rules are missing: ${MAPPINGS} (set CRDS_SHARED_DATA).`);
  }
}

/**
 * Run one oracle script with the project's Python; stdin from a file (optional), stdout to a
 * file. Resolves with the script's stderr (its summary line). Asynchronous, so the TS engine
 * can work while Python computes.
 */
export function runOracle(
  script: string,
  args: string[],
  stdoutFile: string,
  stdinFile?: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(stdoutFile, 'w');
    const inp = stdinFile ? fs.openSync(stdinFile, 'r') : 'ignore';
    const child = spawn(CRDS_PYTHON, [path.join(ORACLE_DIR, script), '--mappings', MAPPINGS, ...args], {
      stdio: [inp, out, 'pipe'],
      env: { ...process.env, PYTHONHASHSEED: '0', PYTHONDONTWRITEBYTECODE: '1' },
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      fs.closeSync(out);
      if (typeof inp === 'number') fs.closeSync(inp);
      if (code === 0) resolve(stderr.trim());
      else reject(new Error(`${script} exited with ${code}:\n${stderr.slice(-4000)}`));
    });
  });
}

export function readJsonl<T>(file: string): T[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

// ---------------------------------------------------------------------------------------
// Comparison

export type AnswerClass =
  | 'file'
  | 'files(tuple)'
  | 'n/a'
  | 'omit'
  | 'error:invalid-value'
  | 'error:no-match'
  | 'error:date'
  | 'error:unknown-type'
  | 'error:other'
  | 'unserializable';

export function classify(v: BestrefValue | undefined): AnswerClass {
  if (v === undefined) return 'omit';
  if (Array.isArray(v)) return 'files(tuple)';
  if (typeof v !== 'string') return 'unserializable';
  if (v === 'NOT FOUND n/a') return 'n/a';
  if (v.startsWith('NOT FOUND')) {
    const msg = v.slice('NOT FOUND '.length);
    if (msg.includes('is not in')) return 'error:invalid-value';
    if (msg.startsWith('No match')) return 'error:no-match';
    if (msg.includes('UseAfter') || /date/i.test(msg)) return 'error:date';
    if (msg.includes('Unknown reference type')) return 'error:unknown-type';
    return 'error:other';
  }
  return 'file';
}

export function sameValue(a: BestrefValue | undefined, b: BestrefValue | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Python repr of a str (the real library's messages quote values this way). */
export function pyStrRepr(s: string): string {
  if (s.includes("'") && !s.includes('"')) return '"' + s.replace(/\\/g, '\\\\') + '"';
  return "'" + s.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
}

/** Python repr of a tuple of str: ('a',) / ('a', 'b'). */
export function pyTupleRepr(items: string[]): string {
  return items.length === 1 ? `(${pyStrRepr(items[0])},)` : `(${items.map(pyStrRepr).join(', ')})`;
}

/**
 * A tuple answer (Match-only tie, quirk Q9): the real server's JSON carries it as an array,
 * which the real client then rejects (crds-protocol.md §9.2). An engine that renders it as
 * the tuple's Python repr string instead (an early crds/index.ts did) is accepted only when
 * it is exactly the repr of the same tuple, and counted apart.
 */
export function isTupleAsRepr(expected: BestrefValue | undefined, ours: BestrefValue | undefined): boolean {
  return Array.isArray(expected) && typeof ours === 'string' && ours === pyTupleRepr(expected);
}

export interface Mismatch {
  id: string;
  context: string;
  rmap: string; // the rmap the imap names for the type (or the seed rmap for whole-call cases)
  reftype: string;
  kind: string; // "<expected class> -> <our class>", or a whole-call kind
  expected: unknown;
  got: unknown;
  variant: string;
  header: Record<string, string | number>;
  reftypes?: string[];
}

export function describeValue(v: unknown): string {
  if (v === undefined) return '(omitted)';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 160 ? s.slice(0, 157) + '...' : s;
}

/** Counts by rmap and by kind, and the first examples of each kind. */
export function summarize(mismatches: Mismatch[], title: string, examplesPerKind = 3, maxKinds = 25): string {
  const byKind = new Map<string, Mismatch[]>();
  const byRmap = new Map<string, number>();
  const byVariant = new Map<string, number>();
  for (const m of mismatches) {
    // "single:keycase:mixed+date:on/frac" -> "keycase:mixed", "date:on/frac"
    for (const part of m.variant.replace(/^(single|few|all|special):/, '').split('+')) {
      byVariant.set(part, (byVariant.get(part) ?? 0) + 1);
    }
    if (!byKind.has(m.kind)) byKind.set(m.kind, []);
    byKind.get(m.kind)!.push(m);
    byRmap.set(m.rmap, (byRmap.get(m.rmap) ?? 0) + 1);
  }
  const lines: string[] = [`${title}: ${mismatches.length} mismatching answers`];
  lines.push('  by kind (expected -> ours):');
  const kinds = [...byKind.entries()].sort((a, b) => b[1].length - a[1].length);
  for (const [kind, ms] of kinds.slice(0, maxKinds)) lines.push(`    ${String(ms.length).padStart(7)}  ${kind}`);
  if (kinds.length > maxKinds) lines.push(`    ... and ${kinds.length - maxKinds} more kinds`);
  lines.push('  by rmap:');
  const rmaps = [...byRmap.entries()].sort((a, b) => b[1] - a[1]);
  for (const [rmap, n] of rmaps.slice(0, 25)) lines.push(`    ${String(n).padStart(7)}  ${rmap}`);
  if (rmaps.length > 25) lines.push(`    ... and ${rmaps.length - 25} more rmaps`);
  lines.push('  by header variant (generator tags; a mismatch counts once per tag):');
  const variants = [...byVariant.entries()].sort((a, b) => b[1] - a[1]);
  for (const [v, n] of variants.slice(0, 15)) lines.push(`    ${String(n).padStart(7)}  ${v}`);
  lines.push('  examples:');
  for (const [kind, ms] of kinds.slice(0, maxKinds)) {
    lines.push(`  [${kind}]`);
    for (const m of ms.slice(0, examplesPerKind)) {
      lines.push(`    ${m.id} (${m.variant}) type=${m.reftype} rmap=${m.rmap}`);
      lines.push(`      expected: ${describeValue(m.expected)}`);
      lines.push(`      ours:     ${describeValue(m.got)}`);
      const req = m.reftypes === undefined ? 'null' : JSON.stringify(m.reftypes);
      lines.push(`      reftypes=${req} header=${JSON.stringify(m.header)}`);
    }
  }
  return lines.join('\n');
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
