// Constraint (.tpn) files (crds-rules.md §6.2) and the type specifications that say which
// constraint files apply to an instrument and type.
//
// Line format: NAME KEYTYPE DATATYPE PRESENCE [VALUES]; '#' comments; a trailing '\' joins the
// next line; `include FILE` (relative to the including file); `replace OLD NEW` (a regular
// expression substitution applied to the lines that follow, and to included files; a second
// directive for the same OLD with another NEW is an error); double-quoted fields may hold blanks.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { CrdsError } from '../errors';

export type KeyType = 'H' | 'C' | 'G' | 'A' | 'D' | 'X';
export type DataType = 'C' | 'S' | 'I' | 'R' | 'D' | 'L' | 'X';

export interface TpnInfo {
  name: string;
  keytype: string; // first character significant: H C G A D X
  datatype: string;
  presence: string; // one of E R P W O F S A, or a '(python expression)'
  values: string[];
}

export class TpnDefinitionError extends CrdsError {
  constructor(message: string) {
    super(message);
    this.name = 'TpnDefinitionError';
  }
}

export const KEYTYPES: Record<string, string> = {
  H: 'HEADER',
  C: 'COLUMN',
  G: 'GROUP',
  A: 'ARRAY_FORMAT',
  D: 'ARRAY_DATA',
  X: 'EXPRESSION',
};
export const DATATYPES: Record<string, string> = {
  C: 'CHARACTER',
  S: 'CASE_SENSITIVE_CHARACTER',
  I: 'INTEGER',
  L: 'LOGICAL',
  R: 'REAL',
  D: 'DOUBLE',
  X: 'EXPRESSION',
};
export const PRESENCES: Record<string, string> = {
  E: 'EXCLUDED',
  R: 'REQUIRED',
  P: 'REQUIRED',
  W: 'WARN',
  O: 'OPTIONAL',
  F: 'IF_FULL_FRAME',
  S: 'IF_SUBARRAY',
  A: 'ANY_SUBARRAY',
};

/** A presence or value field written as '(expression)'. */
export function isExpression(field: string): boolean {
  return field.startsWith('(') && field.endsWith(')');
}

const SPACE_MAGIC = '\u0000SP\u0000';

const TPN_LINK = /^[A-Za-z0-9_.+-]+\.tpn$/;

/**
 * The text of a .tpn file, following link files: the real package's `*_ld.tpn` are symlinks,
 * which a checkout without symlink support (as the shared specs) stores as a one-line file
 * naming the target. Such a file (a single line naming another existing .tpn in the same
 * folder) is read as its target, to a bounded depth and never outside the folder.
 */
function readTpnText(file: string): string {
  let current = file;
  for (let hops = 0; ; hops++) {
    const text = fs.readFileSync(current, 'utf8');
    const name = text.trim();
    if (name.includes('\n') || !TPN_LINK.test(name) || name === path.basename(current)) return text;
    const target = path.join(path.dirname(current), name);
    if (!fs.existsSync(target) || !fs.statSync(target).isFile()) return text;
    if (hops >= 8) throw new TpnDefinitionError(`In '${file}' : tpn link files nested deeper than 8`);
    current = target;
  }
}

/** The logical lines of a .tpn file, includes and replacements applied. */
export function loadTpnLines(file: string, replacements: [string, string][] = [], depth = 0): string[] {
  if (depth > 20) throw new TpnDefinitionError(`In '${file}' : include nesting deeper than 20`);
  const text = readTpnText(file);
  const lines: string[] = [];
  let append = false;
  let reps = replacements;
  for (const rawLine of text.split(/\r?\n/)) {
    let line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('include')) {
      const name = line.split(/\s+/)[1];
      lines.push(...loadTpnLines(path.join(path.dirname(file), name), reps, depth + 1));
      continue;
    }
    if (line.startsWith('replace')) {
      const [, orig, repl] = line.split(/\s+/);
      if (!reps.some(([o, r]) => o === orig && r === repl)) {
        const conflict = reps.find(([o, r]) => o === orig && r !== repl);
        if (conflict) {
          throw new TpnDefinitionError(
            `In '${file}' Tpn replacement directive ('${orig}', '${repl}') conflicts with directive ('${conflict[0]}', '${conflict[1]}')`,
          );
        }
        reps = [...reps, [orig, repl]];
      }
      continue;
    }
    for (const [orig, repl] of reps) line = line.replace(new RegExp(orig, 'g'), repl.replace(/\$/g, '$$$$'));
    if (append) lines[lines.length - 1] = lines[lines.length - 1].slice(0, -1).trim() + line;
    else lines.push(line);
    append = line.endsWith('\\');
  }
  return lines;
}

function protectQuotedBlanks(line: string): string {
  let out = '';
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    out += quoted && (ch === ' ' || ch === '\t') ? SPACE_MAGIC : ch;
  }
  return out;
}

function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

/** Parse one .tpn file into its constraints. */
export function loadTpn(file: string): TpnInfo[] {
  const infos: TpnInfo[] = [];
  for (const line of loadTpnLines(file)) {
    const items = protectQuotedBlanks(line)
      .split(/\s+/)
      .filter((x) => x !== '')
      .map((x) => unquote(x.split(SPACE_MAGIC).join(' ')));
    if (items.length !== 4 && items.length !== 5) {
      // the real loader unpacks 5 fields: its ValueError is all it reports (the line is not named)
      throw new TpnDefinitionError(items.length < 5 ? `not enough values to unpack (expected 5, got ${items.length})` : 'too many values to unpack (expected 5)');
    }
    const [name, keytype, datatype, presence, valuesField] = items;
    let values: string[] = [];
    if (valuesField !== undefined) {
      values = (datatype !== 'X' ? valuesField.split(',') : [valuesField]).map(unquote);
      values = values.map((v) => (isExpression(v) || datatype === 'S' ? v : v.toUpperCase()));
    }
    infos.push({ name, keytype, datatype, presence, values });
  }
  return infos;
}

const tpnCache = new Map<string, TpnInfo[]>();

/** Constraints of a .tpn file, or [] when it does not exist (not every level exists). */
export function getTpnInfos(file: string): TpnInfo[] {
  let infos = tpnCache.get(file);
  if (!infos) {
    infos = fs.existsSync(file) ? loadTpn(file) : [];
    tpnCache.set(file, infos);
  }
  return infos;
}

/** Python repr() of a TpnInfo, as in the real tool's messages. */
export function tpnInfoRepr(info: TpnInfo): string {
  const q = (s: string): string => (s.includes("'") && !s.includes('"') ? `"${s}"` : `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`);
  const presence = isExpression(info.presence) ? `condition=${q(info.presence)}` : q(PRESENCES[info.presence[0]] ?? info.presence[0]);
  const values =
    info.values.length && isExpression(info.values[0])
      ? `expression=${q(info.values[0])}`
      : `values=(${info.values.map(q).join(', ')}${info.values.length === 1 ? ',' : ''})`;
  return `(${q(info.name)}, ${q(KEYTYPES[info.keytype[0]] ?? info.keytype[0])}, ${q(DATATYPES[info.datatype[0]] ?? info.datatype[0])}, ${presence}, ${values})`;
}

function tupleCompare(a: TpnInfo, b: TpnInfo): number {
  const fields: (keyof TpnInfo)[] = ['name', 'keytype', 'datatype', 'presence'];
  for (const f of fields) {
    const x = a[f] as string;
    const y = b[f] as string;
    if (x !== y) return x < y ? -1 : 1;
  }
  const n = Math.min(a.values.length, b.values.length);
  for (let i = 0; i < n; i++) if (a.values[i] !== b.values[i]) return a.values[i] < b.values[i] ? -1 : 1;
  return a.values.length - b.values.length;
}

// ---------------------------------------------------------------------------------------------
// Type specifications

export interface TypeSpec {
  suffix?: string;
  filetype?: string;
  tpn?: string;
  ld_tpn?: string;
  unique_rowkeys?: string[] | null;
  parkey?: unknown;
  [key: string]: unknown;
}

/** The specs folder of one observatory: <specsRoot>/<obs>/{specs/combined_specs.json,tpns/}. */
export class ObservatorySpecs {
  readonly types: Record<string, Record<string, TypeSpec>>;
  private readonly tpnDir: string;
  private readonly suffixIndex = new Map<string, Map<string, string>>();
  private readonly filetypeIndex = new Map<string, Map<string, string>>();
  private readonly infosCache = new Map<string, TpnInfo[]>();

  constructor(readonly specsRoot: string, readonly observatory: string) {
    const dir = path.join(specsRoot, observatory);
    const combined = path.join(dir, 'specs', 'combined_specs.json');
    if (!fs.existsSync(combined)) throw new CrdsError(`No type specifications for '${observatory}' at '${combined}'`);
    this.types = JSON.parse(fs.readFileSync(combined, 'utf8'));
    this.tpnDir = path.join(dir, 'tpns');
    for (const [instr, kinds] of Object.entries(this.types)) {
      const bySuffix = new Map<string, string>();
      const byFiletype = new Map<string, string>();
      for (const [kind, spec] of Object.entries(kinds)) {
        if (spec.suffix) bySuffix.set(spec.suffix, kind);
        if (spec.filetype) byFiletype.set(String(spec.filetype).toLowerCase(), kind);
      }
      this.suffixIndex.set(instr, bySuffix);
      this.filetypeIndex.set(instr, byFiletype);
    }
  }

  instruments(): string[] {
    return Object.keys(this.types).filter((i) => i !== 'all');
  }

  spec(instrument: string, filekind: string): TypeSpec | undefined {
    return this.types[instrument.toLowerCase()]?.[filekind.toLowerCase()];
  }

  suffixToFilekind(instrument: string, suffix: string): string | undefined {
    return this.suffixIndex.get(instrument === 'nic' ? 'nicmos' : instrument)?.get(suffix);
  }

  filetypeToFilekind(instrument: string, filetype: string): string | undefined {
    return this.filetypeIndex.get(instrument === 'nic' ? 'nicmos' : instrument)?.get(filetype.toLowerCase());
  }

  /** Unique row keys (mode columns) of a table type, upper-case, or []. */
  rowKeys(instrument: string, filekind: string): string[] {
    const keys = this.spec(instrument, filekind)?.unique_rowkeys;
    return Array.isArray(keys) ? keys.map((k) => String(k).toUpperCase()) : [];
  }

  /**
   * The .tpn file names that apply, most specific first: (instrument, filekind),
   * (instrument, all), (all, each sub-kind of filekind from general to specific: for
   * 'pars-x' first 'pars' then 'pars-x'... as the real tool orders them), (all, all).
   */
  tpnFiles(instrument: string, filekind: string, field: 'tpn' | 'ld_tpn' = 'tpn'): string[] {
    const out: string[] = [];
    const add = (i: string, k: string): void => {
      const name = this.types[i]?.[k]?.[field];
      if (typeof name === 'string') out.push(name);
    };
    add(instrument, filekind);
    add(instrument, 'all');
    const subkinds: string[] = [];
    for (let i = 0; i < filekind.length; i++) if (filekind[i] === '-') subkinds.push(filekind.slice(0, i));
    subkinds.push(filekind);
    for (const k of subkinds.reverse()) add('all', k);
    add('all', 'all');
    return out;
  }

  tpnPath(name: string): string {
    return path.join(this.tpnDir, name);
  }

  /** All constraints for (instrument, filekind): the union of the files, deduplicated and sorted. */
  tpnInfos(instrument: string, filekind: string, field: 'tpn' | 'ld_tpn' = 'tpn'): TpnInfo[] {
    const key = `${instrument}\0${filekind}\0${field}`;
    let infos = this.infosCache.get(key);
    if (!infos) {
      const seen = new Map<string, TpnInfo>();
      for (const f of this.tpnFiles(instrument, filekind, field)) {
        for (const info of getTpnInfos(this.tpnPath(f))) seen.set(JSON.stringify(info), info);
      }
      infos = [...seen.values()].sort(tupleCompare);
      this.infosCache.set(key, infos);
    }
    return infos;
  }
}

const specsCache = new Map<string, ObservatorySpecs>();

export function loadSpecs(specsRoot: string, observatory: string): ObservatorySpecs {
  const key = `${path.resolve(specsRoot)}\0${observatory}`;
  let s = specsCache.get(key);
  if (!s) {
    s = new ObservatorySpecs(specsRoot, observatory);
    specsCache.set(key, s);
  }
  return s;
}
