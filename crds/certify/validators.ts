// Validators: one per .tpn constraint, applied to a reference header (and its tables and
// arrays). Behaviour and messages follow crds.certify.validators.core: presence flags and
// conditions, value lists, ranges, float tolerances (numpy.allclose), PEDIGREE and date
// formats, expressions, column checks.

import * as fs from 'node:fs';
import type { FitsFile } from '../io/fits';
import { readImageData } from '../io/fits-image';
import { globList } from '../matchers';
import { anydate, dashdate, jwstdate, slashdate, sybdate } from './dates';
import { BUILTINS, compileExpr, evaluate, PyCallable, PyError, PyStruct, PyTuple, pyRepr, truthy, type PyValue } from './pyexpr';
import { isExpression, tpnInfoRepr, type TpnInfo } from './tpn';

/** A finding of certify: an error or a warning (or info) about one file. */
export interface Finding {
  level: 'ERROR' | 'WARNING' | 'INFO';
  /** the message in the real tool's wording, without the file prefix */
  message: string;
}

/** Collects findings; validators raise CheckError for the failure that ends a check. */
export interface Log {
  error(message: string): void;
  warning(message: string): void;
  info(message: string): void;
}

export class CheckError extends Error {}
export class MissingKeywordError extends CheckError {}

export type EvalHeader = Map<string, PyValue>;

/** Column access for C-keytype constraints: each table segment's values for a column name. */
export interface TableSource {
  columnValues(name: string): PyValue[][] | undefined; // undefined: no table defines it
}

export function arrayName(name: string): string {
  return /^\d+/.test(name) ? `ARRAY_${name}` : `${name.toUpperCase()}_ARRAY`;
}

// ---------------------------------------------------------------------------------------------
// Helper functions available to .tpn expressions (crds.certify.validators.helpers)

const IMAGING_MODES = new Set([
  'NRC_IMAGE', 'NRC_TACQ', 'NRC_TACONF', 'NRC_CORON', 'NRC_TSIMAGE', 'NRC_FOCUS', 'NRC_DARK', 'NRC_FLAT', 'NRC_LED',
  'MIR_IMAGE', 'MIR_TACQ', 'MIR_LYOT', 'MIR_4QPM', 'MIR_DARK', 'MIR_FLATIMAGE', 'MIR_CORONCAL',
  'NRS_CONFIRM', 'NRS_DARK', 'NRS_FOCUS', 'NRS_IMAGE', 'NRS_MIMF', 'NRS_TACONFIRM', 'NRS_TACQ', 'NRS_TASLIT', 'NRS_VERIFY',
  'NIS_IMAGE', 'NIS_TACQ', 'NIS_TACONFIRM', 'NIS_AMI', 'NIS_FOCUS', 'NIS_DARK', 'NIS_LAMP',
  'FGS_IMAGE', 'FGS_FOCUS', 'FGS_SKYFLAT', 'FGS_INTFLAT', 'FGS_DARK', 'FGS_ID-STACK',
]);

const FULL_FRAME = new Set(['FULL', 'GENERIC', 'N/A', 'ANY', '*']);

export function isFullFrame(subarray: PyValue): boolean {
  return typeof subarray === 'string' && FULL_FRAME.has(subarray);
}
export function isSubarray(subarray: PyValue): boolean {
  return subarray !== 'UNDEFINED' && !isFullFrame(subarray);
}

function arrayExists(a: PyValue): boolean {
  return a !== 'UNDEFINED';
}

function attr(a: PyValue, name: string): PyValue {
  if (!(a instanceof PyStruct)) throw new PyError('AttributeError', `'${typeof a === 'string' ? 'str' : typeof a}' object has no attribute '${name}'`);
  if (!(name in a.attrs)) throw new PyError('AttributeError', `'Struct' object has no attribute '${name}'`);
  return a.attrs[name];
}

function strIn(needle: string, hay: PyValue): boolean {
  if (typeof hay === 'string') return hay.includes(needle);
  if (Array.isArray(hay)) return hay.includes(needle);
  if (hay instanceof PyTuple) return hay.items.includes(needle);
  if (hay && typeof hay === 'object' && !(hay instanceof PyStruct) && !(hay instanceof PyCallable) && !(hay instanceof Float64Array)) return needle in hay;
  return false;
}

const TABLE_TYPES: Record<string, string[]> = {
  COMPLEX: ['>c', '<c', 'complex', 'complex'],
  INT: ['>i', '<i', 'uint', 'int'],
  INTEGER: ['>i', '<i', 'uint', 'int'],
  FLOAT: ['>f', '<f', 'float', 'float'],
  STR: ['|S'],
  STRING: ['|S'],
};
function tableTypes(t: string): string[] {
  if (TABLE_TYPES[t]) return TABLE_TYPES[t];
  const m = /^(COMPLEX|INT|INTEGER|FLOAT|STR|STRING)_ARRAY$/.exec(t);
  if (m) return TABLE_TYPES[m[1]].map((x) => `('${x}`);
  return [t]; // a str, iterated by characters in Python
}

function f(name: string, fn: (...a: PyValue[]) => PyValue): PyCallable {
  return new PyCallable(name, fn);
}

export const HELPERS: Record<string, PyValue> = {
  has_columns: f('has_columns', (info, cols) => {
    if (!arrayExists(info)) return false;
    const names = attr(info, 'COLUMN_NAMES');
    const list = Array.isArray(cols) ? cols : cols instanceof PyTuple ? cols.items : [];
    return list.every((c) => strIn(String(c), names));
  }),
  has_type: f('has_type', (info, typestr) => {
    const types = typeof typestr === 'string' ? [typestr] : Array.isArray(typestr) ? typestr : [];
    const map: Record<string, string> = { COMPLEX: 'complex', INT: 'int', INTEGER: 'int', FLOAT: 'float', BOOLEAN: 'bool' };
    return types.some((t) => arrayExists(info) && strIn(map[String(t)] ?? String(t), attr(info, 'DATA_TYPE')));
  }),
  has_column_type: f('has_column_type', (info, col, typestr) => {
    if (!arrayExists(info)) return false;
    const dt = attr(info, 'DATA_TYPE');
    const key = String(col).toUpperCase();
    const ts = String(typestr);
    const entry = dt && typeof dt === 'object' && !(dt instanceof PyStruct) ? (dt as Record<string, PyValue>)[key] : undefined;
    if (entry === undefined) throw new PyError('MissingColumnError', `Data type not defined for column ${pyRepr(String(col))}`);
    const candidates = TABLE_TYPES[ts] || /_ARRAY$/.test(ts) ? tableTypes(ts) : [...ts];
    return candidates.some((c) => String(entry).includes(c));
  }),
  is_table: f('is_table', (info) => arrayExists(info) && attr(info, 'KIND') === 'TABLE'),
  is_image: f('is_image', (info) => arrayExists(info) && attr(info, 'KIND') === 'IMAGE'),
  array_exists: f('array_exists', (info) => arrayExists(info)),
  is_imaging_mode: f('is_imaging_mode', (e) => typeof e === 'string' && IMAGING_MODES.has(e)),
  is_full_frame: f('is_full_frame', (s) => isFullFrame(s)),
  is_subarray: f('is_subarray', (s) => isSubarray(s)),
  is_irs2: f('is_irs2', (r) => typeof r === 'string' && r.includes('IRS2')),
  is_defined: f('is_defined', (v) => v !== 'UNDEFINED' && v !== null),
  optional: f('optional', (flag = true) => (truthy(flag) ? 'O' : false)),
  required: f('required', (flag = true) => (truthy(flag) ? 'R' : false)),
  warning: f('warning', (flag = true) => (truthy(flag) ? 'W' : false)),
  warn_only: f('warn_only', (flag) => (!truthy(flag) ? 'W' : true)),
  subarray: f('subarray', (flag = true) => (truthy(flag) ? 'S' : false)),
  full_frame: f('full_frame', (flag = true) => (truthy(flag) ? 'F' : false)),
  all_subarray: f('all_subarray', (flag = true) => (truthy(flag) ? 'A' : false)),
  ndim: f('ndim', (array, dims) => {
    const shape = attr(array, 'SHAPE');
    const n = shape instanceof PyTuple ? shape.items.length : Array.isArray(shape) ? shape.length : NaN;
    return n === dims;
  }),
};

/** Names visible to an expression: the header first (Python eval globals), then helpers. */
function namespace(header: EvalHeader | Map<string, PyValue>): (n: string) => PyValue | undefined {
  return (n) => {
    const v = header.get(n);
    if (v !== undefined) return v;
    if (n in HELPERS) return HELPERS[n];
    if (n in BUILTINS) return BUILTINS[n];
    return undefined;
  };
}

function pyErrorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** expr_identifiers: upper-case identifiers an expression mentions (helpers are lower-case). */
export function exprIdentifiers(expr: string): string[] {
  const out: string[] = [];
  for (const m of expr.matchAll(/['".A-Z0-9_a-z]+/g)) {
    const key = m[0];
    if (!/^[A-Z0-9_.]+$/.test(key)) continue;
    const head = key.split('.')[0];
    if (/^\d+/.test(head) || head === '_') continue;
    out.push(head);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

function pyStrOf(v: PyValue): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : pyFloatStr(v);
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  return pyRepr(v);
}

function pyFloatStr(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return `${v}.0`;
  const s = String(v);
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

/** Python int(value) for header/column values. */
function pyInt(v: PyValue): number {
  if (typeof v === 'number') return Math.trunc(v);
  if (typeof v === 'boolean') return Number(v);
  if (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v.replace(/_/g, ''))) return Number(v.replace(/_/g, ''));
  throw new CheckError(`invalid literal for int() with base 10: ${pyRepr(v)}`);
}

function pyFloat(v: PyValue): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return Number(v);
  if (typeof v === 'string') {
    const t = v.trim().toLowerCase();
    if (/^[+-]?(inf|infinity)$/.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
    if (/^[+-]?nan$/.test(t)) return NaN;
    if (t !== '' && /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t)) return Number(t);
  }
  throw new CheckError(`could not convert string to float: ${pyRepr(v)}`);
}

/** log.PP of a value list / value in messages: Python repr. */
function pp(v: PyValue): string {
  return pyRepr(v);
}

export interface ValidatorContext {
  /** the observatory's table access for C constraints */
  tables?: TableSource;
  log: Log;
  /** the file being certified, for the special validators that read it (array data, SYNPHOT tables) */
  file?: CertifiedFile;
}

/** What the special validators may read besides the header. */
export interface CertifiedFile {
  path: string;
  /** the open FITS file (FITS references only) */
  fits?: FitsFile;
  /** the comparison context's name, when there is one */
  context?: string;
  /**
   * The selections of the context's rmap for (instrument, filekind) in rmap order, keys as the
   * real selector.todict() gives them (a tuple of strings, or a string for a one-parameter
   * Match); undefined without a context. Throws when the context lacks that rmap.
   */
  contextSelections?: (instrument: string, filekind: string) => [PyValue, string][] | undefined;
  /** config.locate_file: where the CRDS cache keeps a named file (&FILEEXISTS) */
  locateFile?: (name: string) => string | undefined;
}

export abstract class Validator {
  readonly name: string;
  protected values: PyValue[] = [];

  constructor(public info: TpnInfo) {
    this.name = info.name;
  }

  get complexName(): string {
    return this.info.keytype === 'A' || this.info.keytype === 'D' ? arrayName(this.name) : this.name;
  }

  get keytypeDescr(): string {
    return (
      { H: 'keyword', C: 'table column', G: 'group', A: 'array', D: 'array', X: 'expression' } as Record<string, string>
    )[this.info.keytype[0]] ?? this.info.keytype.toLowerCase();
  }

  get optional(): boolean {
    return this.info.presence === 'O' || this.info.presence === 'W';
  }

  get conditionallyRequired(): boolean {
    return isExpression(this.info.presence);
  }

  requiredCopy(): Validator {
    const copy = Object.create(Object.getPrototypeOf(this)) as Validator;
    Object.assign(copy, this);
    copy.info = { ...this.info, presence: 'R' };
    return copy;
  }

  condition(v: PyValue): PyValue {
    return v;
  }

  /** is_applicable: false, true, or a presence flag ('O', 'W', ...) that is also true. */
  isApplicable(header: EvalHeader, log: Log): PyValue {
    const subarray = header.get('SUBARRAY') ?? 'UNDEFINED';
    let presence: PyValue;
    if (this.conditionallyRequired) {
      try {
        presence = evaluate(compileExpr(this.info.presence), namespace(header));
      } catch (e) {
        log.warning(`Failed checking applicability of ${tpnInfoRepr(this.info)} skipping check :  ${pyErrorText(e)}`);
        return false;
      }
      if (!truthy(presence)) return false;
    } else presence = this.info.presence;
    if (presence === 'O' || presence === 'W') return presence;
    if (presence === 'F') return isFullFrame(subarray);
    if (presence === 'S') return isSubarray(subarray);
    if (presence === 'A') {
      return ['SUBARRAY', 'SUBSTRT1', 'SUBSTRT2', 'SUBSIZE1', 'SUBSIZE2'].every((k) => (header.get(k) ?? 'UNDEFINED') !== 'UNDEFINED');
    }
    return true;
  }

  check(header: EvalHeader, ctx: ValidatorContext): void {
    if (!truthy(this.isApplicable(header, ctx.log))) return;
    const kt = this.info.keytype;
    if (kt === 'C') this.checkColumn(header, ctx);
    else if (kt === 'G') ctx.log.warning('Group keys are not currently supported by CRDS.');
    else this.checkHeader(header, ctx);
  }

  checkHeader(header: EvalHeader, ctx: ValidatorContext): void {
    const value = header.get(this.complexName) ?? 'UNDEFINED';
    if (value === null || value === 'UNDEFINED') {
      this.handleMissing(header, ctx);
      return;
    }
    if (this.info.presence === 'E') throw new CheckError(`*Must not define* keyword ${pyRepr(this.name)}`);
    this.checkValue(value, ctx);
  }

  checkColumn(header: EvalHeader, ctx: ValidatorContext): void {
    const segments = ctx.tables?.columnValues(this.name);
    if (!segments) {
      this.handleMissing(header, ctx);
      return;
    }
    for (const col of segments) for (const v of col) this.checkValue(v, ctx);
  }

  handleMissing(header: EvalHeader | undefined, ctx: ValidatorContext): void {
    let presence: PyValue = this.info.presence;
    if (this.conditionallyRequired) {
      if (!header) return;
      presence = this.isApplicable(header, ctx.log);
      if (!truthy(presence)) return;
    }
    if (presence === 'R' || presence === 'P' || presence === true) {
      throw new MissingKeywordError(`Missing required ${this.keytypeDescr} ${pyRepr(this.name)}`);
    } else if (presence === 'W') {
      ctx.log.warning(`Missing suggested ${this.keytypeDescr} ${pyRepr(this.name)}`);
    } else if (presence === 'O' || presence === 'S' || presence === 'F' || presence === 'A') {
      /* optional: nothing to say */
    } else {
      throw new CheckError(`Unexpected validator 'presence' value: ${pyRepr(this.info.presence)}`);
    }
  }

  checkValue(value: PyValue, ctx: ValidatorContext): void {
    if (value === null || value === 'UNDEFINED') return;
    const v = this.condition(value);
    if (this.values.length === 0) return;
    this.checkConditioned(v, ctx);
  }

  protected checkConditioned(_v: PyValue, _ctx: ValidatorContext): void {
    /* abstract */
  }
}

function sortedPy(values: PyValue[]): PyValue[] {
  return [...values].sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0));
}

class KeywordValidator extends Validator {
  constructor(info: TpnInfo) {
    super(info);
    this.values = sortedPy(info.values.map((v) => this.condition(v)));
  }
  override condition(v: PyValue): PyValue {
    return pyStrOf(v);
  }
  protected override checkConditioned(v: PyValue, _ctx: ValidatorContext): void {
    if (!this.values.some((x) => x === v)) {
      throw new CheckError(`Value ${pp(v)} is not one of ${pp(this.values)}`);
    }
  }
}

class CharacterValidator extends KeywordValidator {
  override condition(v: PyValue): PyValue {
    return pyStrOf(v).trim().toUpperCase();
  }
  protected override checkConditioned(v: PyValue, ctx: ValidatorContext): void {
    for (const one of globList(String(v))) super.checkConditioned(one, ctx);
  }
}

class CaseSensitiveCharacterValidator extends CharacterValidator {
  override condition(v: PyValue): PyValue {
    return pyStrOf(v).trim();
  }
}

class LogicalValidator extends KeywordValidator {
  constructor(info: TpnInfo) {
    super(info);
    this.values = ['F', 'T'];
  }
}

class NumericalValidator extends KeywordValidator {
  isRange = false;
  min = 0;
  max = 0;
  protected epsilon = 0;
  protected typeName = '';
  constructor(info: TpnInfo) {
    super({ ...info, values: [] });
    this.info = info;
    this.isRange = info.values.length === 1 && info.values[0].includes(':');
    if (this.isRange) {
      const [lo, hi] = info.values[0].split(':');
      this.min = this.condition(lo) as number;
      this.max = this.condition(hi) as number;
      this.values = [this.min, this.max];
    } else this.values = sortedPy(info.values.map((v) => this.condition(v)));
  }
  protected override checkConditioned(v: PyValue, ctx: ValidatorContext): void {
    const n = v as number;
    if (this.isRange) {
      if (n < this.min || n > this.max) {
        throw new CheckError(`Value for ${pyRepr(this.name)} of ${this.numRepr(n)} is outside acceptable range ${this.info.values[0]}`);
      }
      return;
    }
    if (this.values.includes(n)) return;
    this.inexact(n, ctx);
  }
  protected numRepr(n: number): string {
    return String(n);
  }
  protected inexact(n: number, _ctx: ValidatorContext): void {
    throw new CheckError(`Value ${pp(n)} is not one of ${pp(this.values)}`);
  }
}

class IntValidator extends NumericalValidator {
  override condition(v: PyValue): PyValue {
    return pyInt(v);
  }
}

class FloatValidator extends NumericalValidator {
  protected override epsilon = 1e-7;
  protected override typeName = 'Real';
  override condition(v: PyValue): PyValue {
    return pyFloat(v);
  }
  protected override numRepr(n: number): string {
    return pyFloatStr(n);
  }
  protected override inexact(n: number): void {
    for (const possible of this.values as number[]) {
      // numpy.allclose(a, b, rtol): |a - b| <= atol + rtol * |b|, atol = 1e-8
      if (Math.abs(n - possible) <= 1e-8 + this.epsilon * Math.abs(possible)) return;
    }
    throw new CheckError(
      `${this.typeName} ${pyFloatStr(n)} is not within +- ${pyFloatStr(this.epsilon)} of any of [${(this.values as number[]).map(pyFloatStr).join(', ')}]`,
    );
  }
}

class RealValidator extends FloatValidator {}
class DoubleValidator extends FloatValidator {
  protected override epsilon = 1e-14;
  protected override typeName = 'Double';
}

abstract class PedigreeBaseValidator extends KeywordValidator {
  protected abstract withDate: string[];
  protected abstract withoutDate: string[];
  protected abstract datedFormat: string;
  protected abstract validateDate(d: string): Date;
  protected override checkConditioned(v: PyValue, ctx: ValidatorContext): void {
    const value = String(v);
    const aug = (msg: string): CheckError => new CheckError(`Invalid value: ${pyRepr(value)} : ${msg}`);
    const inflight = (clar: string): CheckError => aug(`INFLIGHT format should be ${pyRepr(this.datedFormat)} : ${clar}`);
    const parts = value.split(/\s+/).filter((x) => x);
    if (parts.length === 0) throw aug('Missing value.');
    const pedigree = parts[0].toUpperCase();
    if (parts.length === 1) {
      if (!this.withoutDate.includes(pedigree)) throw aug(`Value ${pyRepr(pedigree)} cannot be used as a simple value.`);
    } else if (parts.length === 3) {
      if (!this.withDate.includes(pedigree)) throw aug(`Value ${pyRepr(pedigree)} cannot be specified with <start> and <stop> dates.`);
      const [start, stop] = parts.slice(1);
      if (/[T :]/.test(start + stop)) throw inflight('Time should not appear in INFLIGHT dates.');
      let a: Date;
      let b: Date;
      try {
        a = this.validateDate(start);
        b = this.validateDate(stop);
      } catch (e) {
        throw inflight(pyErrorText(e));
      }
      if (!(a <= b)) throw inflight('Start date > stop date');
    } else throw aug(`('Invalid format for PEDIGREE: ', ${pyRepr(value)})`);
    super.checkConditioned(pedigree, ctx);
  }
}

class PedigreeValidator extends PedigreeBaseValidator {
  protected withDate = ['INFLIGHT', 'GROUND', 'MODEL', 'DUMMY', 'SIMULATION'];
  protected withoutDate = ['GROUND', 'MODEL', 'DUMMY', 'SIMULATION'];
  protected datedFormat = 'INFLIGHT DD/MM/YYYY DD/MM/YYYY';
  constructor(info: TpnInfo) {
    super(info);
    this.values = ['INFLIGHT', 'GROUND', 'MODEL', 'DUMMY', 'SIMULATION'];
  }
  protected validateDate(d: string): Date {
    try {
      return dashdate(d);
    } catch {
      return slashdate(d);
    }
  }
}

class JwstpedigreeValidator extends PedigreeBaseValidator {
  protected withDate = ['INFLIGHT', 'MODEL'];
  protected withoutDate = ['GROUND', 'MODEL', 'DUMMY', 'SIMULATION'];
  protected datedFormat = 'INFLIGHT YYYY-MM-DD YYYY-MM-DD';
  constructor(info: TpnInfo) {
    super(info);
    this.values = ['INFLIGHT', 'GROUND', 'MODEL', 'DUMMY', 'SIMULATION'];
  }
  protected validateDate(d: string): Date {
    return dashdate(d);
  }
}

class DateValidator extends KeywordValidator {
  constructor(info: TpnInfo, private parse: (s: string) => Date) {
    super(info);
  }
  protected override checkConditioned(v: PyValue): void {
    try {
      this.parse(String(v));
    } catch (e) {
      throw new CheckError(pyErrorText(e));
    }
  }
}

class JwstdateValidator extends KeywordValidator {
  protected override checkConditioned(v: PyValue, ctx: ValidatorContext): void {
    const s = String(v);
    try {
      jwstdate(s);
      return;
    } catch {
      /* tolerated forms below */
    }
    let ok = false;
    try {
      anydate(s);
      ok = true;
    } catch {
      try {
        jwstdate(s.replace(/ /g, 'T'));
        ok = true;
      } catch {
        /* fall through */
      }
    }
    if (!ok) {
      try {
        jwstdate(s);
      } catch (e) {
        throw new CheckError(pyErrorText(e));
      }
    }
    ctx.log.warning(`Non-compliant date format ${pyRepr(s)} for ${pyRepr(this.name)} should be '2018-12-22T00:00:00'`);
  }
}

class ExpressionValidator extends Validator {
  constructor(info: TpnInfo) {
    super(info);
    compileExpr(info.values[0]);
  }
  override checkHeader(header: EvalHeader, ctx: ValidatorContext): void {
    const expr = this.info.values[0];
    for (const key of exprIdentifiers(expr)) {
      if ((header.get(key) ?? 'UNDEFINED') === 'UNDEFINED') return; // fake satisfied
    }
    let satisfied: PyValue;
    try {
      satisfied = evaluate(compileExpr(expr), namespace(header));
    } catch (e) {
      throw new CheckError(`Failed checking constraint ${pyRepr(expr)} : ${pyErrorText(e)}`);
    }
    if (!truthy(satisfied)) throw new CheckError(`Constraint ${expr} is not satisfied.`);
    if (satisfied === 'W') ctx.log.warning(`Constraint ${expr} is not satisfied.`);
  }
}

class ColumnExpressionValidator extends Validator {
  constructor(info: TpnInfo) {
    super(info);
    compileExpr(info.values[0]);
    this.values = [info.values[0]];
  }
  override checkHeader(): void {
    /* columns only */
  }
  override checkValue(value: PyValue, ctx: ValidatorContext): void {
    if (value === null || value === 'UNDEFINED') return;
    const expr = this.info.values[0];
    let satisfied: PyValue;
    try {
      satisfied = evaluate(compileExpr(expr), namespace(new Map([['VALUE', value]])));
    } catch (e) {
      throw new CheckError(`Failed checking constraint ${pyRepr(expr)} : ${pyErrorText(e)}`);
    }
    if (!truthy(satisfied)) throw new CheckError(`Constraint ${expr} is not satisfied.`);
    if (satisfied === 'W') ctx.log.warning(`Constraint ${expr} is not satisfied.`);
  }
}

/** &KernelUnity: every kernel of an IPC array sums to 1 +- 1e-6; center pixels >= 1 (warning). */
class KernelunityValidator extends Validator {
  override checkHeader(_header: EvalHeader, ctx: ValidatorContext): void {
    const hdu = ctx.file?.fits ? arrayHdu(ctx.file.fits, this.name) : undefined;
    if (!hdu) throw new CheckError(`'NoneType' object has no attribute 'transpose'`);
    const img = readImageData(ctx.file!.fits!, hdu);
    const shape = img.shape;
    if (shape.length < 2) throw new CheckError(`cannot reshape array of size ${img.values.length} into shape (1, ${shape.join(', ')})`);
    // all_data = DATA.transpose(); the images are its last two axes, i.e. DATA's first two
    // (in swapped order), one image per combination of DATA's remaining indices.
    const [s0, s1] = shape;
    const rest = shape.slice(2);
    const restCount = rest.reduce((a, b) => a * b, 1);
    const stride0 = s1 * restCount;
    const stride1 = restCount;
    // images in the transposed array's C order: the last of DATA's axes varies slowest
    const restIndex = (k: number): number => {
      // k enumerates (i_{n-1}, ..., i_2) with i_{n-1} slowest; DATA's flat offset of those indices
      let off = 0;
      let mult = 1;
      const idx: number[] = [];
      let r = k;
      for (let a = 0; a < rest.length; a++) {
        const dim = rest[a];
        idx.push(r % dim);
        r = Math.floor(r / dim);
      }
      for (let a = rest.length - 1; a >= 0; a--) {
        off += idx[a] * mult;
        mult *= rest[a];
      }
      return off;
    };
    const at = (q: number, p: number, off: number): number => img.values[q * stride0 + p * stride1 + off];
    let centerOk = true;
    for (let k = 0; k < restCount; k++) if (!(at(Math.floor(s0 / 2), Math.floor(s1 / 2), restIndex(k)) >= 1.0)) centerOk = false;
    if (!centerOk) ctx.log.warning('Possible bad IPC Kernel:  One or more kernel center pixel value(s) too small, should be >= 1.0');
    const add = img.float32 ? (a: number, b: number): number => Math.fround(a + b) : (a: number, b: number): number => a + b;
    for (let k = 0; k < restCount; k++) {
      const off = restIndex(k);
      let sum = 0;
      for (let p = 0; p < s1; p++) for (let q = 0; q < s0; q++) sum = add(sum, at(q, p, off));
      if (Math.abs(sum - 1.0) > 1.0e-6) {
        const rows: number[][] = [];
        for (let p = 0; p < s1; p++) {
          const row: number[] = [];
          for (let q = 0; q < s0; q++) row.push(at(q, p, off));
          rows.push(row);
        }
        throw new CheckError(`Kernel sum ${kernelSumStr(sum, img.float32)} is not 1+-1e-6 for kernel #${k} : ${kernelRepr(rows, img.float32)}`);
      }
    }
  }
}

/** repr of a numpy scalar: float32 values by their shortest round-tripping decimal. */
function kernelSumStr(v: number, float32: boolean): string {
  let s = String(v);
  if (float32) {
    for (let p = 1; p <= 9; p++) {
      const t = Number(v.toPrecision(p));
      if (Math.fround(t) === v) {
        s = String(t);
        break;
      }
    }
  }
  return /^-?\d+$/.test(s) ? `${s}.0` : s;
}

/** A numpy-like repr of one kernel (rows of the transposed image), for the failure message. */
function kernelRepr(rows: number[][], float32: boolean): string {
  const body = rows.map((r) => `[${r.map((x) => kernelSumStr(x, float32)).join(', ')}]`).join(',\n       ');
  return `array([${body}], dtype='${float32 ? '>f4' : '>f8'}')`;
}

/** The HDU an array constraint names (EXTNAME, or a number). */
function arrayHdu(f: FitsFile, name: string): ReturnType<FitsFile['find']> {
  const ext = /^(EXT(ENSION)?)?(\d+)$/.exec(name);
  return ext ? f.hdus[Number(ext[3])] : f.find(name);
}

/** &IsomorphicFitsVer[1|2|4]: every (HDU, ver) of the array has the shape and type of the first. */
class IsomorphicfitsverValidator extends Validator {
  constructor(info: TpnInfo, private readonly maxVer: number | null) {
    super(info);
  }
  override checkHeader(_header: EvalHeader, ctx: ValidatorContext): void {
    const f = ctx.file?.fits;
    if (!f) throw new CheckError(`Not a FITS file: ${pyRepr(ctx.file?.path ?? '')}`);
    let first: { shape: number[]; dtype: string } | undefined;
    let maxVer = 0;
    const tuple = (shape: number[]): string => `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
    for (const hdu of f.hdus) {
      if (hdu.name !== this.name) continue;
      const dtype = hdu.kind === 'BINTABLE' || hdu.kind === 'TABLE' ? 'table' : hdu.dtype;
      if (!first) first = { shape: hdu.shape, dtype };
      else {
        if (tuple(first.shape) !== tuple(hdu.shape)) {
          throw new CheckError(
            `Shape mismtatch for ${pyRepr(new PyTuple([hdu.name, hdu.ver]))}relative to${pyRepr(new PyTuple([this.name, 1]))}. Expected ${tuple(first.shape)} but got ${tuple(hdu.shape)}.`,
          );
        }
        if (first.dtype !== dtype) {
          throw new CheckError(
            `Data type mismtatch for ${pyRepr(new PyTuple([hdu.name, hdu.ver]))} relative to ${pyRepr(new PyTuple([this.name, 1]))}. Expected ${first.dtype} but got ${dtype}.`,
          );
        }
      }
      maxVer = hdu.ver;
    }
    if (this.maxVer !== null && this.maxVer !== maxVer) {
      throw new CheckError(`Bad maximum HDU ver for ${pyRepr(this.name)}. Expected ${this.maxVer}, got ${maxVer}.`);
    }
  }
}

/** &FileExists: the file a value names (IRAF prefix and [..] trailer removed) is in the CRDS cache. */
class FileexistsValidator extends Validator {
  override condition(v: PyValue): PyValue {
    let name = String(v);
    if (name.includes('$')) name = name.split('$').pop()!;
    if (name.includes('[')) name = name.split('[')[0];
    return name;
  }
  override checkValue(value: PyValue, ctx: ValidatorContext): void {
    if (value === null || value === 'UNDEFINED') return;
    const name = String(this.condition(value));
    const located = ctx.file?.locateFile?.(name);
    if (!located || !fs.existsSync(located)) {
      throw new CheckError(`Required CRDS file ${pyRepr(name)} does not exist in CRDS cache.`);
    }
  }
}

/**
 * Special validators defined elsewhere (the SYNPHOT ones, crds/certify/synphot.ts), by their
 * real class name without "Validator": "".join(part.capitalize() for part in name.split("_")).
 */
export const SPECIAL_VALIDATORS = new Map<string, (info: TpnInfo) => Validator>();

/** validators.validator's class name for an &-type: "&SYNPHOT_GRAPH" -> "SynphotGraph". */
export function specialClassName(value: string): string {
  return value
    .slice(1)
    .split('_')
    .map((p) => (p ? p[0].toUpperCase() + p.slice(1).toLowerCase() : ''))
    .join('');
}

/** validators.validator(info): the Validator for one constraint. */
export function makeValidator(info: TpnInfo): Validator {
  if (info.values.length === 1 && info.values[0].startsWith('&')) {
    const special = info.values[0].slice(1).toUpperCase();
    switch (special) {
      case 'PEDIGREE':
        return new PedigreeValidator(info);
      case 'JWSTPEDIGREE':
        return new JwstpedigreeValidator(info);
      case 'SYBDATE':
        return new DateValidator(info, sybdate);
      case 'SLASHDATE':
        return new DateValidator(info, slashdate);
      case 'ANYDATE':
        return new DateValidator(info, anydate);
      case 'JWSTDATE':
        return new JwstdateValidator(info);
      default: {
        const cls = specialClassName(info.values[0]);
        switch (cls) {
          case 'Kernelunity':
            return new KernelunityValidator(info);
          case 'Isomorphicfitsver':
            return new IsomorphicfitsverValidator(info, null);
          case 'Isomorphicfitsver1':
            return new IsomorphicfitsverValidator(info, 1);
          case 'Isomorphicfitsver2':
            return new IsomorphicfitsverValidator(info, 2);
          case 'Isomorphicfitsver4':
            return new IsomorphicfitsverValidator(info, 4);
          case 'Fileexists':
            return new FileexistsValidator(info);
        }
        const make = SPECIAL_VALIDATORS.get(cls);
        if (make) return make(info);
        throw new CheckError(`Unrecognized validator ${info.values[0]}, expected class ${cls}Validator`);
      }
    }
  }
  switch (info.datatype) {
    case 'C':
      return new CharacterValidator(info);
    case 'S':
      return new CaseSensitiveCharacterValidator(info);
    case 'R':
      return new RealValidator(info);
    case 'D':
      return new DoubleValidator(info);
    case 'I':
      return new IntValidator(info);
    case 'L':
      return new LogicalValidator(info);
    case 'X':
      return info.keytype === 'C' ? new ColumnExpressionValidator(info) : new ExpressionValidator(info);
  }
  throw new CheckError(`Unimplemented datatype ${pyRepr(info.datatype)}`);
}

export { PyStruct, PyTuple };
