// Shared by the certify differential test and its iteration script: runs our certify on the
// same files as the real tool and reduces both sides' messages to comparable findings.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { certifyFile, checkGroup, fileObservatory, type CertifyResult } from '../../crds/certify';
import { MappingStore } from '../../crds/mappings';
import { CRDS_PYTHON, REPO_ROOT, SHARED_DATA, TESTDATA } from '../support/paths';

export const SPECS = path.join(SHARED_DATA, 'crds-specs');
export const MAPPINGS_DIR = path.join(SHARED_DATA, 'crds-cache', 'mappings');
export const REFERENCES = path.join(SHARED_DATA, 'crds-cache', 'references');
/** The default comparison context of the real command: the operational context of each observatory. */
export const OPERATIONAL: Record<string, string> = { hst: 'hst_0729.pmap', jwst: 'jwst_0541.pmap', roman: 'roman_0004.pmap' };
/**
 * The group check (trial rmap updates) runs on both sides unless CRDS_CERTIFY_DIFF_NO_GROUP is
 * set (for iteration only: the differential test itself runs with it).
 */
export const GROUP_CHECK = !process.env.CRDS_CERTIFY_DIFF_NO_GROUP;
/** Options given to every run of the real command (see the test's notes). */
export const ORACLE_EXTRA = '--dont-recurse-mappings' + (GROUP_CHECK ? '' : ' --dont-check-rmap-updates');

const EXTENSIONS = /\.(fits|asdf|json|yaml|r\dh|pmap|imap|rmap|tmp)$/;

export function certifiableFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (EXTENSIONS.test(e.name)) out.push(p);
    }
  };
  walk(TESTDATA);
  walk(REFERENCES);
  return out.sort();
}

export interface OracleResult {
  file: string;
  status: number;
  seconds: number;
  messages: [string, string][];
}

/**
 * Run the real `crds certify` on `files` in `parallel` long-lived processes (default: one per
 * core). Each process starts Python and loads the library and the contexts once, then takes
 * its next file from a shared queue when it is free, so a few slow files (SYNPHOT graphs,
 * large tables) do not leave the other process idle. The heaviest files (by size) go first.
 */
export async function runOracle(files: string[], parallel = Math.max(1, os.cpus().length)): Promise<OracleResult[]> {
  const specs = resolvedSpecsCopy();
  try {
    return await runOracleOn(files, specs, parallel);
  } finally {
    fs.rmSync(specs, { recursive: true, force: true });
  }
}

/**
 * A temporary copy of SPECS as the real crds package ships it: the shared specs store the
 * package's `*_ld.tpn` symlinks as one-line files naming their target (a checkout without
 * symlink support); the copy has them as symlinks again, so that the real library reads the
 * constraints it reads when installed (ours follows such files itself, crds/certify/tpn.ts).
 */
export function resolvedSpecsCopy(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-certify-specs-'));
  fs.cpSync(SPECS, root, { recursive: true });
  // the shared data is read-only: its copied folders too, which the edits and rmSync need writable
  const writable = (dir: string): void => {
    fs.chmodSync(dir, 0o755);
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) writable(path.join(dir, e.name));
  };
  writable(root);
  for (const obs of fs.readdirSync(root)) {
    const tpns = path.join(root, obs, 'tpns');
    if (!fs.existsSync(tpns)) continue;
    for (const name of fs.readdirSync(tpns)) {
      const file = path.join(tpns, name);
      if (!name.endsWith('.tpn') || !fs.lstatSync(file).isFile()) continue;
      const target = fs.readFileSync(file, 'utf8').trim();
      if (/^[\w.+-]+\.tpn$/.test(target) && target !== name && fs.existsSync(path.join(tpns, target))) {
        fs.rmSync(file);
        fs.symlinkSync(target, file);
      }
    }
  }
  return root;
}

async function runOracleOn(files: string[], specs: string, parallel: number): Promise<OracleResult[]> {
  const script = path.join(REPO_ROOT, 'test', 'certify', 'oracle', 'certify.py');
  const size = (f: string): number => {
    try {
      return fs.statSync(f).size;
    } catch {
      return 0;
    }
  };
  const queue = [...files].sort((a, b) => size(b) - size(a) || (a < b ? -1 : 1));
  const results: OracleResult[] = [];
  const worker = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (!queue.length) return resolve();
      const warm = Object.entries(OPERATIONAL).map(([o, c]) => `${o}=${c}`).join(',');
      const args = [script, '--mappings', MAPPINGS_DIR, '--specs', specs, '--references', REFERENCES, '--extra', ORACLE_EXTRA, '--warm', warm, '--stdin'];
      const p = spawn(CRDS_PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      let pending = 0;
      const feed = (): void => {
        const next = queue.shift();
        if (next === undefined) p.stdin.end();
        else {
          pending++;
          p.stdin.write(next + '\n');
        }
      };
      p.stdout.on('data', (d) => {
        out += d;
        let nl: number;
        while ((nl = out.indexOf('\n')) >= 0) {
          const line = out.slice(0, nl).trim();
          out = out.slice(nl + 1);
          if (!line) continue;
          results.push(JSON.parse(line) as OracleResult);
          pending--;
          if (pending === 0) feed();
        }
      });
      p.stderr.on('data', (d) => (err += d));
      p.on('error', reject);
      p.on('close', (code) => {
        if (code !== 0) return reject(new Error(`oracle exited ${code}: ${err.slice(-2000)}`));
        if (pending !== 0) return reject(new Error(`oracle ended with ${pending} files unanswered: ${err.slice(-2000)}`));
        resolve();
      });
      feed();
    });
  await Promise.all(Array.from({ length: Math.min(parallel, files.length) }, worker));
  return results;
}

/**
 * Observatory of a file for the test: by name, or TELESCOP for FITS (as the real tool),
 * else by the test-data folder.
 */
export function observatoryOf(file: string): string {
  const own = fileObservatory(file);
  if (own) return own;
  return file.includes(`${path.sep}jwst${path.sep}`) ? 'jwst' : file.includes(`${path.sep}roman${path.sep}`) ? 'roman' : 'hst';
}

let store: MappingStore | undefined;
export function runOurs(file: string): CertifyResult {
  store ??= new MappingStore(MAPPINGS_DIR, { ignoreChecksum: 'warn' });
  const observatory = observatoryOf(file);
  const options = {
    observatory,
    specsRoot: SPECS,
    store,
    context: OPERATIONAL[observatory],
    locateReference: (name: string) => {
      const p = path.join(REFERENCES, observatory, name);
      return fs.existsSync(p) ? p : undefined;
    },
  };
  const result = certifyFile(file, options);
  // certify_files: the group check follows when the file passed (one file per run, as the oracle)
  if (GROUP_CHECK && result.errors === 0) {
    for (const g of checkGroup([file], options)) {
      result.findings.push(...g.findings);
      result.errors += g.errors;
      result.warnings += g.warnings;
      result.seconds += g.seconds;
    }
  }
  return result;
}

/**
 * The comparable identity of a finding: its level and the keyword it is about (from
 * "Checking 'KEY'", "Missing suggested keyword 'KEY'", ...), or for findings about no single
 * keyword a category made of the message with names and numbers blanked.
 */
export function findingKey(level: string, message: string): string {
  let m = message.replace(/^\s*instrument='[^']*' type='[^']*' data='[^']*' ::\s*/, '').trim();
  m = m.replace(/^In '[^']*' : /, '');
  m = m.replace(/ \[[A-Z0-9_ -]+\]/g, '').replace(/ \[FITS unknown\]/g, '');
  let k = /^Checking '([^']+)'/.exec(m);
  if (k) return `${level} ${k[1]}`;
  k = /^Missing suggested [a-z ]+ '([^']+)'/.exec(m);
  if (k) return `${level} ${k[1]} (missing)`;
  k = /^Failed checking applicability of \('([^']+)'/.exec(m);
  if (k) return `${level} ${k[1]} (applicability)`;
  k = /^(Rule change at|Deletion at|Reversion at|Different lookup parameters|Different classes at|Unusual replacement|Duplicate entry at (header|selector)|Checksum error|Validation error|Error loading|Duplicate definitions in|No comparison reference for|Failed to obtain reference comparison file|Missing required array|Non-compliant date format|Change in row format|Table mode|Differing HDU counts|Constraint|CRDS-pattern-like keyword|Match\()/.exec(m);
  if (k) return `${level} ${k[1]}`;
  return `${level} ${m.replace(/'[^']*'/g, 'Q').replace(/\d+/g, 'N').slice(0, 60)}`;
}

export function oracleKeys(r: OracleResult): Set<string> {
  return new Set(r.messages.filter(([l]) => l === 'ERROR' || l === 'WARNING').map(([l, m]) => findingKey(l, m)));
}

export function ourKeys(r: CertifyResult): Set<string> {
  return new Set(r.findings.filter((f) => f.level !== 'INFO').map((f) => findingKey(f.level, f.message)));
}

/**
 * The suite runs a fixed sample (about one file in twenty of each extension, evenly spread over
 * the sorted list, so every kind of file is covered and the same files run each time);
 * CRDS_CERTIFY_DIFF_ALL=1 runs every file (bench/certify-differential does), and
 * CRDS_CERTIFY_DIFF_FILES=regex picks files by name instead.
 */
export function fixedSample(files: string[], every = 20): string[] {
  const byExt = new Map<string, string[]>();
  for (const f of [...files].sort()) {
    const ext = f.slice(f.lastIndexOf('.'));
    byExt.set(ext, [...(byExt.get(ext) ?? []), f]);
  }
  const out: string[] = [];
  for (const group of byExt.values()) {
    const n = Math.ceil(group.length / every);
    for (let i = 0; i < n; i++) out.push(group[Math.floor((i * group.length) / n)]);
  }
  return out.sort();
}
