// The HST SYNPHOT special validators (crds.certify.validators.synphot, with the naming rules of
// crds.misc.synphot.utils): &SYNPHOT_GRAPH (TMG graph tables: every row reachable from INNODE 1,
// INNODE < OUTNODE), &SYNPHOT_LOOKUP (TMC/TMT lookup tables: FILENAME's IRAF path prefix and
// parametrization trailer follow COMPNAME), &SYNPHOT_THROUGHPUT (component throughput tables:
// first/last THROUGHPUT and MJD# values 0, enough parametrized columns, file name version) and
// &SYNPHOT_THERMAL (file name version). They read the file's last HDU (a table) and, for the
// version check, the synphot rmap of the comparison context. Like the real ones they log their
// findings directly (errors without a "Checking" prefix) rather than failing the constraint.

import * as path from 'node:path';
import type { FitsFile } from '../io/fits';
import { readTableRows, type CellValue } from '../io/fits-tables';
import type { TpnInfo } from './tpn';
import { CheckError, SPECIAL_VALIDATORS, Validator, type EvalHeader, type ValidatorContext } from './validators';

const COS_PARAMETRIZED = new Set(
  (
    'cosmcp_g130mc1055m cosmcp_g130mc1096m cosmcp_g130mc1222m cosmcp_g130mc1291m cosmcp_g130mc1300m cosmcp_g130mc1309m ' +
    'cosmcp_g130mc1318m cosmcp_g130mc1327m cosmcp_g140lc1230m cosmcp_g140lc1280m cosmcp_g160mc1577m cosmcp_g160mc1589m ' +
    'cosmcp_g140lc1105m cosmcp_g140lc800m cosmcp_g160mc1533m cosmcp_g160mc1600m cosmcp_g160mc1611m cosmcp_g160mc1623m ' +
    'cosncm3g185mc1786m cosncm3g185mc1817m cosncm3g185mc1835m cosncm3g185mc1850m cosncm3g185mc1864m cosncm3g185mc1882m ' +
    'cosncm3g185mc1890m cosncm3g185mc1900m cosncm3g185mc1913m cosncm3g185mc1921m cosncm3g185mc1941m cosncm3g185mc1953m ' +
    'cosncm3g185mc1971m cosncm3g185mc1986m cosncm3g185mc2010m cosncm3g225mc2186m cosncm3g225mc2217m cosncm3g225mc2233m ' +
    'cosncm3g225mc2250m cosncm3g225mc2268m cosncm3g225mc2283m cosncm3g225mc2306m cosncm3g225mc2325m cosncm3g225mc2339m ' +
    'cosncm3g225mc2357m cosncm3g225mc2373m cosncm3g225mc2390m cosncm3g225mc2410m cosncm3g230lc2635m cosncm3g230lc2950m ' +
    'cosncm3g230lc3000m cosncm3g230lc3360m cosncm3g285mc2617m cosncm3g285mc2637m cosncm3g285mc2657m cosncm3g285mc2676m ' +
    'cosncm3g285mc2695m cosncm3g285mc2709m cosncm3g285mc2719m cosncm3g285mc2739m cosncm3g285mc2850m cosncm3g285mc2952m ' +
    'cosncm3g285mc2979m cosncm3g285mc2996m cosncm3g285mc3018m cosncm3g285mc3035m cosncm3g285mc3057m cosncm3g285mc3074m ' +
    'cosncm3g285mc3094m'
  ).split(' '),
);
const ACS_PARAMETRIZED = new Set(
  'acs_fr388n acs_fr423n acs_fr459m acs_fr462n acs_fr505n acs_fr551n acs_fr601n acs_fr647m acs_fr656n acs_fr716n acs_fr782n acs_fr853n acs_fr914m acs_fr1016n acs_fr931n'.split(' '),
);
const WFPC2_PARAMETRIZED = new Set(['wfpc2_contpc1', 'wfpc2_contwf2', 'wfpc2_contwf3', 'wfpc2_contwf4']);
const MISC_PARAMETRIZED: Record<string, string> = { wfpc_contpc: 'pc_cont#', wfpc_contwf: 'wf_cont#', wfpc2_lrf: 'wave#' };
/** wfpc2 before wfpc, so that prefix checks assign the right instrument */
const HST_INSTRUMENTS = ['acs', 'cos', 'stis', 'wfc3', 'wfpc2', 'foc', 'hrs', 'hsp', 'nicmos', 'wfpc', 'ota', 'fgs', 'fos'];
const NICMOS_PREFIXES = ['nic', 'nic1', 'nic2', 'nic3'];
const OTA_COMPONENTS = new Set(['clear', 'dark', 'hst_ota']);

/** utils.get_instrument: the synphot instrument of a component (a superset of HST's). */
export function synphotInstrument(component: string): string {
  const c = component.toLowerCase();
  const ins = HST_INSTRUMENTS.find((i) => c.startsWith(i));
  if (ins) return ins;
  if (NICMOS_PREFIXES.some((p) => c.startsWith(p))) return 'nicmos';
  if (OTA_COMPONENTS.has(c)) return 'ota';
  return 'nonhst';
}

/** utils.get_path_prefix: the IRAF path variable of a component's files. */
export function synphotPathPrefix(component: string): string {
  return `cr${synphotInstrument(component)}comp$`;
}

/** utils.get_parametrization_keyword (not the graph's overrides): the column prefix, or undefined. */
export function parametrizationKeyword(component: string): string | undefined {
  const c = component.toLowerCase();
  if (c.endsWith('_mjd') || c.endsWith('_m')) return 'mjd#';
  if (c.endsWith('_aper')) return 'aper#';
  if (ACS_PARAMETRIZED.has(c)) return `${c.split('_').pop()}#`;
  if (COS_PARAMETRIZED.has(c)) return 'mjd#';
  if (WFPC2_PARAMETRIZED.has(c)) return 'cont#';
  return MISC_PARAMETRIZED[c];
}

/** The last HDU's table (hdul[-1].data): column names as written, rows. */
function lastTable(ctx: ValidatorContext): { names: string[]; rows: CellValue[][]; col: (name: string) => CellValue[] } {
  const f: FitsFile | undefined = ctx.file?.fits;
  if (!f) throw new CheckError(`Not a FITS file: '${path.basename(ctx.file?.path ?? '')}'`);
  const last = f.hdus[f.hdus.length - 1];
  if (last.kind !== 'BINTABLE' && last.kind !== 'TABLE') throw new CheckError("'NoneType' object is not subscriptable");
  const { columns, rows } = readTableRows(f, last.index);
  const names = columns.map((c) => c.name);
  const col = (name: string): CellValue[] => {
    // FITS_rec field access is case-insensitive
    const i = names.findIndex((n) => n.toUpperCase() === name.toUpperCase());
    if (i < 0) throw new CheckError(`"Key '${name}' does not exist."`);
    return rows.map((r) => r[i]);
  };
  return { names, rows, col };
}

function numeric(v: CellValue): number {
  return typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : NaN;
}

/** A graph node number (INNODE / OUTNODE). */
type Node = number;

class SynphotGraphValidator extends Validator {
  override checkHeader(_header: EvalHeader, ctx: ValidatorContext): void {
    const t = lastTable(ctx);
    const inn = t.col('INNODE').map(numeric);
    const out = t.col('OUTNODE').map(numeric);
    // _check_connectivity: the rows reachable by following paths from INNODE 1
    const byIn = new Map<Node, number[]>();
    inn.forEach((n, i) => {
      if (!byIn.has(n)) byIn.set(n, []);
      byIn.get(n)!.push(i);
    });
    const visited = new Set<number>();
    // done: nodes whose walk met no cycle, so every row reachable from them is visited already
    const done = new Set<Node>();
    const walk = (node: Node, seen: Set<Node>): boolean => {
      if (seen.has(node)) return false; // a cycle: _check_direction reports it
      if (done.has(node)) return true;
      const rows = byIn.get(node) ?? [];
      for (const i of rows) visited.add(i);
      const seen2 = new Set(seen).add(node);
      let complete = true;
      for (const o of new Set(rows.map((i) => out[i]))) if (!walk(o, seen2)) complete = false;
      if (complete) done.add(node);
      return complete;
    };
    walk(1, new Set());
    if (visited.size < inn.length) {
      const missing = [...Array(inn.length).keys()].filter((i) => !visited.has(i));
      ctx.log.error(`TMG contains disconnected rows at indexes: ${missing.join(', ')}`);
    }
    // _check_direction: INNODE < OUTNODE on every row (no cycles)
    if (!inn.every((n, i) => n < out[i])) ctx.log.error('TMG contains rows with INNODE >= OUTNODE.');
  }
}

class SynphotLookupValidator extends Validator {
  override checkHeader(_header: EvalHeader, ctx: ValidatorContext): void {
    const t = lastTable(ctx);
    const comps = t.col('COMPNAME').map(String);
    const files = t.col('FILENAME').map(String);
    comps.forEach((comp, i) => {
      const filename = files[i];
      if (filename.split('$')[0] + '$' !== synphotPathPrefix(comp)) {
        ctx.log.error(`Malformed FILENAME value at index ${i} (missing or invalid path prefix)`);
      }
      const param = parametrizationKeyword(comp);
      if (param === undefined && filename.endsWith(']')) {
        ctx.log.error(`Malformed FILENAME value at index ${i} (should not be parametrized)`);
      } else if (param !== undefined && !filename.toLowerCase().endsWith(`[${param}]`)) {
        ctx.log.error(`Malformed FILENAME value at index ${i} (should be parametrized)`);
      }
    });
  }
}

class SynphotThroughputValidator extends Validator {
  override checkHeader(header: EvalHeader, ctx: ValidatorContext): void {
    const t = lastTable(ctx);
    // _check_throughput_first_and_last: warnings only, there are exceptions to the rule
    for (const name of t.names) {
      if (name === 'THROUGHPUT' || name.startsWith('MJD#')) {
        const values = t.col(name);
        if (!values.length) throw new CheckError(`index 0 is out of bounds for axis 0 with size 0`);
        if (numeric(values[0]) !== 0) ctx.log.warning(`First value of column '${name}' is not 0.0`);
        if (numeric(values[values.length - 1]) !== 0) ctx.log.warning(`Last value of column '${name}' is not 0.0`);
      }
    }
    // _check_parametrization: a parametrized component has at least 2 columns with its prefix
    const compname = ctx.file!.fits!.hdus[0].get('COMPNAME');
    if (compname === undefined) throw new CheckError(`"Keyword 'COMPNAME' not found."`);
    const prefix = parametrizationKeyword(String(compname));
    if (prefix !== undefined) {
      const count = t.names.filter((n) => n.toLowerCase().startsWith(prefix)).length;
      if (count < 2) ctx.log.error(`Table is parametrized by ${prefix}, but includes only ${count} columns with that prefix.`);
    }
    checkComponentFilename(ctx, 'thruput', 'syn', header);
  }
}

class SynphotThermalValidator extends Validator {
  override checkHeader(header: EvalHeader, ctx: ValidatorContext): void {
    checkComponentFilename(ctx, 'thermal', 'th', header);
  }
}

/** _check_component_filename: NAME_###_<suffix>.fits, the version above the context's file for COMPNAME. */
function checkComponentFilename(ctx: ValidatorContext, reftype: string, suffix: string, header: EvalHeader): void {
  const compname = String(header.get('COMPNAME') ?? '').toLowerCase();
  if (!compname) {
    ctx.log.error('Header missing COMPNAME, unable to certify filename');
    return;
  }
  // re.match(r".*_([0-9]{3})_<suffix>.fits"): anchored at the start only, '.' any character
  const pattern = new RegExp(`^.*_([0-9]{3})_${suffix}.fits`, 's');
  const match = pattern.exec(path.basename(ctx.file!.path));
  if (!match) {
    ctx.log.error(`Invalid filename: must end in _###_${suffix}.fits`);
    return;
  }
  const selections = ctx.file?.context ? ctx.file.contextSelections?.('synphot', reftype) : undefined;
  if (!selections) return;
  const newVersion = Number(match[1]);
  const original = selections.find(([key]) => (typeof key === 'string' ? key[0] ?? '' : Array.isArray(key) ? String(key[0] ?? '') : String((key as { items?: unknown[] }).items?.[0] ?? '')).toLowerCase() === compname)?.[1];
  if (!original) {
    ctx.log.warning(`No previous file exists for COMPNAME '${compname}', skipping version check`);
    return;
  }
  const old = pattern.exec(path.basename(original));
  if (!old) {
    ctx.log.warning(`Previous filename '${original}' does not end in _###_${suffix}.fits, skipping version check`);
    return;
  }
  const oldVersion = Number(old[1]);
  if (newVersion <= oldVersion) {
    const v3 = (n: number): string => String(n).padStart(3, '0');
    ctx.log.error(`New filename version (${v3(newVersion)}) must exceed previous version (${v3(oldVersion)})`);
  }
}

const make =
  (C: new (info: TpnInfo) => Validator) =>
  (info: TpnInfo): Validator =>
    new C(info);
SPECIAL_VALIDATORS.set('SynphotGraph', make(SynphotGraphValidator));
SPECIAL_VALIDATORS.set('SynphotLookup', make(SynphotLookupValidator));
SPECIAL_VALIDATORS.set('SynphotThroughput', make(SynphotThroughputValidator));
SPECIAL_VALIDATORS.set('SynphotThermal', make(SynphotThermalValidator));

/** Imported for its registrations (see SPECIAL_VALIDATORS). */
export const SYNPHOT_VALIDATORS = ['SynphotGraph', 'SynphotLookup', 'SynphotThroughput', 'SynphotThermal'];
