// Reference and dataset headers as certify sees them (crds.io): FITS card unions, the flattened
// trees of ASDF, JSON and YAML files, and array descriptions for A/D constraints.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { cardValueStr, FitsFile } from '../io/fits';
import { fitsTables, readTableRows, type CellValue } from '../io/fits-tables';
import { looksLikeGeis } from '../io/geis';
import { readAsdfTree, readYamlTree, TAG, type TreeValue } from '../io/asdf';
import { PyStruct, PyTuple, type PyValue } from './pyexpr';

export type FileFormat = 'fits' | 'asdf' | 'json' | 'yaml' | 'geis' | 'mapping' | 'text' | 'unknown';

/** data_file.get_filetype: by extension, else by the first bytes. */
export function fileFormat(filepath: string): FileFormat {
  const name = path.basename(filepath).toLowerCase();
  if (/\.(pmap|imap|rmap)$/.test(name)) return 'mapping';
  if (name.endsWith('.fits')) return 'fits';
  if (name.endsWith('.asdf')) return 'asdf';
  if (name.endsWith('.json')) return 'json';
  if (name.endsWith('.yaml') || name.endsWith('.yml')) return 'yaml';
  if (/\.r\d[hd]$/.test(name)) return 'geis';
  if (name.endsWith('.txt') || name.endsWith('.text')) return 'text';
  let head = Buffer.alloc(0);
  try {
    const fd = fs.openSync(filepath, 'r');
    try {
      head = Buffer.alloc(81);
      head = head.subarray(0, fs.readSync(fd, head, 0, 81, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return 'unknown';
  }
  const text = head.toString('latin1');
  if (text.startsWith('#ASDF')) return 'asdf';
  if (text.startsWith('SIMPL')) return text.length === 81 && text[80] === '\n' && looksLikeGeis(filepath) ? 'geis' : 'fits';
  const t = text.trimStart();
  if (t.startsWith('{') || t.startsWith('[')) return 'json';
  if (t.startsWith('%YAML') || t.startsWith('---') || /^[A-Za-z_]+\s*:/.test(t)) return 'yaml';
  return 'unknown';
}

const DUPLICATES_OK = new Set(['COMMENT', 'HISTORY', 'NAXIS', 'EXTNAME', 'EXTVER']);
const APPEND_KEYS = new Set(['COMMENT', 'HISTORY']);

/** _reduce_header: first value wins, except COMMENT/HISTORY which accumulate. */
export function reduceHeader(items: Iterable<[string, string]>): Map<string, string> {
  const header = new Map<string, string>();
  for (const [k, v] of items) {
    const key = k.toUpperCase();
    const prev = header.get(key);
    if (prev !== undefined && prev !== v) {
      if (APPEND_KEYS.has(key)) header.set(key, `${prev}\n${v}`);
      // other duplicates: keep the first (NAXIS, EXTNAME... silently; others with a verbose warning)
    } else if (prev === undefined) header.set(key, v);
  }
  void DUPLICATES_OK;
  return header;
}

/** Union of the cards of every HDU, values as Python str(). */
export function fitsHeaderItems(f: FitsFile): [string, string][] {
  const items: [string, string][] = [];
  for (const hdu of f.hdus) {
    for (const c of hdu.cards) {
      if (!c.keyword) continue;
      items.push([c.keyword, c.value === null ? (c.keyword === 'COMMENT' || c.keyword === 'HISTORY' ? c.comment : '') : cardValueStr(c.value)]);
    }
  }
  return items;
}

function pyStrFloat(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return `${v}.0`;
  return String(v).replace(/e([+-])(\d)$/, 'e$10$2');
}

/** AbstractFile._simple_type for tree values. */
function simpleType(v: TreeValue): string | string[] {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isInteger(v) && !(v as unknown as { __float?: boolean }).__float ? String(v) : pyStrFloat(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (Array.isArray(v)) return v.map((x) => simpleType(x) as string);
  if (v === null) return "SUPRESSED_NONSTD_TYPE: 'NoneType'";
  if (v instanceof Date) return v.toISOString().replace('Z', '').replace(/\.000$/, '');
  const tag = (v as { [TAG]?: string })[TAG];
  if (tag && /\/time-/.test(tag)) return String((v as { value?: unknown }).value ?? '');
  return `SUPRESSED_NONSTD_TYPE: '${tag ? tagClass(tag) : 'dict'}'`;
}

function tagClass(tag: string): string {
  if (tag.includes('ndarray')) return 'NDArrayType';
  const m = /([a-z_]+)-\d/.exec(tag.split('/').pop() ?? '');
  return m ? m[1] : 'object';
}

/** Does a tagged YAML mapping stay a dict after the asdf library converts it? */
function staysMapping(tag: string | undefined): boolean {
  if (!tag) return true;
  return /core\/(asdf|software|history_entry|extension_metadata|column)-|roman\/tags\//.test(tag) && !/ndarray|\/time-/.test(tag);
}

/** to_simple_types: flatten a tree to dotted upper-case keys. */
export function flattenTree(tree: TreeValue, prefix = '', out = new Map<string, string | string[]>()): Map<string, string | string[]> {
  if (tree === null || typeof tree !== 'object' || Array.isArray(tree) || tree instanceof Date) return out;
  for (const [k, v] of Object.entries(tree)) {
    const key = prefix + k.toUpperCase();
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && staysMapping((v as { [TAG]?: string })[TAG])) {
      flattenTree(v, `${key}.`, out);
    } else out.set(key, simpleType(v));
  }
  return out;
}

export interface ArrayInfo {
  shape: number[];
  kind: 'IMAGE' | 'TABLE' | 'UNKNOWN';
  dataType: string | Record<string, string>;
  columnNames: string[] | null;
  name: string;
  extension: number;
}

export function arrayStruct(a: ArrayInfo): PyStruct {
  return new PyStruct('Struct', {
    SHAPE: new PyTuple(a.shape),
    KIND: a.kind,
    DATA_TYPE: typeof a.dataType === 'string' ? a.dataType : (a.dataType as Record<string, PyValue>),
    COLUMN_NAMES: a.columnNames,
    NAME: a.name,
    EXTENSION: a.extension,
    DATA: null,
  });
}

/** FitsFile.get_array_properties: the HDU named (or numbered) `arrayName`, or undefined. */
export function fitsArrayProperties(f: FitsFile, arrayName: string): ArrayInfo | undefined {
  let hdu;
  let name: string = arrayName;
  const ext = /^(EXT(ENSION)?)?(\d+)/.exec(arrayName);
  const ver = /^(.*)__(\d+)$/.exec(arrayName);
  if (ext) {
    hdu = f.hdus[Number(ext[3])];
    name = ext[3];
  } else if (ver) hdu = f.find(ver[1], Number(ver[2]));
  else hdu = f.find(arrayName);
  if (!hdu) return undefined;
  if (hdu.kind === 'BINTABLE' || hdu.kind === 'TABLE') {
    const t = fitsTables(f).find((x) => x.hduIndex === hdu.index)!;
    const dt: Record<string, string> = {};
    for (const c of t.columns) dt[c.name.toUpperCase()] = c.dtype;
    return { shape: [t.nrows], kind: hdu.kind === 'BINTABLE' ? 'TABLE' : 'UNKNOWN', dataType: dt, columnNames: t.columns.map((c) => c.name.toUpperCase()), name, extension: hdu.index };
  }
  return { shape: hdu.shape, kind: hdu.kind === 'IMAGE' ? 'IMAGE' : 'UNKNOWN', dataType: hdu.dtype, columnNames: null, name, extension: hdu.index };
}

/** Tables of a FITS file: per table HDU, column names and rows (for C constraints and modes). */
export interface LoadedTable {
  segment: number;
  colnames: string[];
  rows: CellValue[][];
  ascii: boolean;
}

export function loadFitsTables(f: FitsFile): LoadedTable[] {
  return fitsTables(f).map((t) => {
    const { columns, rows } = readTableRows(f, t.hduIndex);
    return { segment: t.hduIndex, colnames: columns.map((c) => c.name.toUpperCase()), rows, ascii: t.kind === 'TABLE' };
  });
}

/** Raw header items of a non-FITS reference (ASDF, JSON, YAML). */
export function treeHeaderItems(
  filepath: string,
  format: 'asdf' | 'json' | 'yaml',
): { items: Map<string, string | string[]>; tree: TreeValue; asdfVersion?: string; historyError?: string } {
  if (format === 'json') {
    const text = fs.readFileSync(filepath, 'utf8');
    let tree: TreeValue;
    try {
      tree = JSON.parse(text);
    } catch (e) {
      throw new Error(`JSON wouldn't load from ${JSON.stringify(filepath)} : ${(e as Error).message}`);
    }
    return { items: flattenTree(tree), tree };
  }
  if (format === 'yaml') {
    const tree = readYamlTree(filepath);
    return { items: flattenTree(tree), tree };
  }
  const { tree, standardVersion } = readAsdfTree(filepath);
  const items = flattenTree(tree);
  const history = asdfHistory(tree);
  items.set('HISTORY', history.value);
  return { items, tree, asdfVersion: standardVersion, historyError: history.error };
}

/**
 * AsdfFile._get_history: the history entries as 'time :: description' lines, or UNDEFINED; a
 * tree without history (or an entry without time or description) is the real reader's logged
 * error "Failed reading ASDF history, see ASDF docs on adding history : 'history'".
 */
function asdfHistory(tree: TreeValue): { value: string; error?: string } {
  const fail = (key: string): { value: string; error: string } => ({ value: 'UNDEFINED', error: `Failed reading ASDF history, see ASDF docs on adding history : '${key}'` });
  const root = tree && typeof tree === 'object' && !Array.isArray(tree) && !(tree instanceof Date) ? (tree as Record<string, TreeValue>) : undefined;
  if (!root || !('history' in root)) return fail('history');
  const hist = root.history;
  const entries = hist && typeof hist === 'object' && !Array.isArray(hist) && !(hist instanceof Date) ? (hist as Record<string, TreeValue>).entries : hist;
  if (!Array.isArray(entries)) return { value: 'UNDEFINED' };
  const out: string[] = [];
  for (const e of entries) {
    if (!e || typeof e !== 'object' || Array.isArray(e) || e instanceof Date) continue;
    const rec = e as Record<string, TreeValue>;
    if (!('time' in rec)) return fail('time');
    if (!('description' in rec)) return fail('description');
    const t = rec.time;
    const time = t instanceof Date ? t.toISOString().replace('T', ' ').replace(/\.\d+Z$/, '') : String(t ?? '').split('.')[0];
    out.push(`${time} :: ${String(rec.description ?? '')}`);
  }
  return { value: out.length ? out.join('\n') : 'UNDEFINED' };
}
