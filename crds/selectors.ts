// Selector tree of a reference mapping (crds-rules.md §1.4–1.6, §3.5–3.7), after
// crds.core.selectors: Match, UseAfter, VersionAfter, SelectVersion, ClosestTime,
// GeometricallyNearest, Bracket. Built once from the AST at load; lookups use precompiled
// matchers and, for Match, an index on the most selective parameter.

import type { PyCall, PyValue, SelectorName } from './ast';
import type { EngineCache } from './cache';
import { conditionValue } from './conditioning';
import {
  AmbiguousMatchError,
  CrdsError,
  CrdsLookupError,
  InvalidDatetimeError,
  MappingFormatError,
  MatchingError,
  UseAfterError,
  ValidationError,
  VersionAfterError,
} from './errors';
import { esotericKey, globList, pyCompare, type Matcher } from './matchers';
import { pyFloatRepr, pyRepr, pyStr, pyStrRepr, pyToJs } from './parser';
import { pyFloat, pySplit, reformatDate } from './timestamp';

/** A header as selectors see it: conditioned string values keyed by parkey. */
export type Header = Readonly<Record<string, string>>;

/** A terminal value of the tree: normally a reference basename, 'N/A' or 'OMIT'. */
export type Terminal = string | Terminal[] | { [key: string]: Terminal };

/** What a lookup returns: a terminal, or a tuple of them (equal-weight Match-only ties, Bracket). */
export type Choice = Terminal;

/** Load-time settings of an rmap that selectors need. */
export interface SelectorContext {
  /** rmap name, for messages */
  name: string;
  /** header `substitutions` merged over the defaults */
  substitutions: Record<string, Record<string, PyValue>>;
  mergeOverlaps: boolean;
  /** shared memo of conditioning, matchers and dates */
  cache: EngineCache;
}

export const DEFAULT_SUBSTITUTIONS: Record<string, Record<string, PyValue>> = {
  'META.SUBARRAY.NAME': { GENERIC: { t: 'str', v: 'N/A' } },
  SUBARRAY: { GENERIC: { t: 'str', v: 'N/A' } },
};

/** One entry of a selector: the raw key as written, and the nested selector or terminal. */
export interface RawEntry {
  key: PyValue;
  value: Selector | Terminal;
}

/** Python dict identity of a key: 1 == 1.0 == True, tuples element-wise. */
export function pyKeyId(v: PyValue): string {
  switch (v.t) {
    case 'str':
      return 's' + v.v;
    case 'int':
    case 'float':
      return 'n' + String(v.v === 0 ? 0 : v.v);
    case 'bool':
      return 'n' + (v.v ? 1 : 0);
    case 'none':
      return 'N';
    case 'tuple':
      return '(' + v.items.map(pyKeyId).join('\u0000') + ')';
    default:
      return 'x' + pyStr(v);
  }
}

export function pyTupleRepr(items: readonly string[]): string {
  return items.length === 1 ? `(${pyStrRepr(items[0])},)` : `(${items.map(pyStrRepr).join(', ')})`;
}

function listRepr(items: readonly string[]): string {
  return `[${items.map(pyStrRepr).join(', ')}]`;
}

/**
 * A lookup failure carried as a value; `error()` builds the exception the real library
 * raises. Returning failures instead of throwing keeps Error construction (stack capture)
 * off the lookup path: most types of a header fail for one reason or another.
 * `fatal` failures (validation, bad or undefined dates) are not CrdsLookupErrors in the real
 * library: a Match selector stops at them instead of trying the next weight group.
 */
export class LookupFailure {
  constructor(
    readonly message: string,
    private readonly make: (message: string) => CrdsError,
    readonly fatal = false,
  ) {}
  error(): CrdsError {
    return this.make(this.message);
  }
}

const NO_MATCH = new LookupFailure('No match found.', (m) => new MatchingError(m));
const useAfterFailure = (m: string) => new UseAfterError(m);
const validationFailure = (m: string) => new ValidationError(m);
const AMBIGUOUS = new LookupFailure('More than one match clause matched.', (m) => new AmbiguousMatchError(m), true);
const invalidDatetimeFailure = (m: string) => new InvalidDatetimeError(m);

function isSelector(v: unknown): v is Selector {
  return v instanceof Selector;
}

function shortTypeName(v: unknown): string {
  if (typeof v === 'string') return 'str';
  if (Array.isArray(v)) return 'tuple';
  return 'dict';
}

export abstract class Selector {
  abstract readonly kind: SelectorName;

  constructor(
    readonly parameters: readonly string[],
    /** Entries as written (after Python dict de-duplication), for serialization and diffs. */
    readonly rawEntries: readonly RawEntry[],
    protected readonly ctx: SelectorContext,
  ) {}

  abstract choose(header: Header): Choice;

  /**
   * Like choose(), but a lookup failure (CrdsLookupError) is returned as a LookupFailure
   * instead of thrown: Match tries the next weight group on it, and not building an Error
   * (stack trace) for every too-early date keeps lookups fast.
   */
  chooseOrFail(header: Header): Choice | LookupFailure {
    try {
      return this.choose(header);
    } catch (exc) {
      if (exc instanceof CrdsLookupError) return new LookupFailure(exc.message, () => exc);
      throw exc;
    }
  }

  /** Terminal values (strings) selected anywhere below this selector, sorted, unique. */
  referenceNames(): string[] {
    const out = new Set<string>();
    const addTerminal = (t: Terminal): void => {
      if (typeof t === 'string') out.add(t);
      else if (Array.isArray(t)) t.forEach(addTerminal);
      else Object.values(t).forEach(addTerminal);
    };
    for (const e of this.rawEntries) {
      if (isSelector(e.value)) e.value.referenceNames().forEach((n) => out.add(n));
      else addTerminal(e.value);
    }
    return [...out].sort(pyCompare);
  }

  /** Number of selections (after conditioning / de-duplication). */
  abstract get size(): number;

  /** Python repr of the selector object, e.g. "UseAfterSelector(('DATE-OBS', 'TIME-OBS'), nselections=3)". */
  pyRepr(): string {
    return `${this.kind}Selector(${pyTupleRepr(this.parameters as string[])}, nselections=${this.size})`;
  }

  /** Python-side `Selector.merge`: only date-like selectors merge. */
  merge(_other: Selector | Terminal): Selector {
    throw new AmbiguousMatchError(
      `More than one match was found at the same weight and ${this.kind} does not support merging.`,
    );
  }

  /** The per-parameter values the runtime validation accepts (selector `_parkey_map`). */
  validValues(): Record<string, readonly string[] | '*'> {
    return {};
  }
}

// ---------------------------------------------------------------------------------------
// Match

interface MatchRow {
  /** conditioned key, one element per parameter */
  key: string[];
  matchers: Matcher[];
  choice: Selector | Terminal;
}

interface ParamCheck {
  name: string;
  /** sorted valid values (Python repr'd in messages); empty = unchecked */
  list: string[];
  set: Set<string>;
  permissive: boolean; // contains *, ANY or N/A
  hasNa: boolean;
  /** Python repr of `list`, made on the first failed validation */
  listRepr?: string;
  /** the failures of invalid values already met (the same few values fail again and again) */
  failures?: Map<string, LookupFailure>;
}

export class MatchSelector extends Selector {
  readonly kind = 'Match' as const;
  readonly rows: readonly MatchRow[];
  private readonly checks: ParamCheck[];
  /** Index on the most selective parameter: exact value → row numbers; other rows always checked. */
  private readonly indexParam: number;
  private readonly index?: Map<string, number[]>;
  private readonly unindexed: number[] = [];
  private readonly naNeutral: boolean[];
  private readonly merged = new Map<string, { members: number[]; value: Selector | Terminal[] | LookupFailure }>();
  /** index value → its exact rows merged with the unindexed ones (bounded by the index keys) */
  private readonly mergedCandidates = new Map<string, number[]>();

  constructor(parameters: readonly string[], rawEntries: RawEntry[], ctx: SelectorContext) {
    super(parameters, rawEntries, ctx);
    // 1. substitutions on raw keys (Python dict: a substituted key replaces the old one).
    const substituted = parameters.some((p) => ctx.substitutions[p]);
    const selections = new Map<string, { key: PyValue; value: Selector | Terminal }>();
    if (substituted) for (const e of rawEntries) selections.set(pyKeyId(e.key), { key: e.key, value: e.value });
    for (const [which, param] of substituted ? parameters.entries() : []) {
      const table = ctx.substitutions[param];
      if (!table) continue;
      for (const id of [...selections.keys()]) {
        const entry = selections.get(id);
        if (!entry) continue;
        const old = entry.key.t === 'tuple' ? entry.key.items[which] : entry.key;
        if (!old || old.t !== 'str' || !Object.prototype.hasOwnProperty.call(table, old.v)) continue;
        let replacement = table[old.v];
        if (replacement.t === 'list') replacement = { t: 'tuple', items: replacement.items };
        let newKey: PyValue;
        if (entry.key.t === 'tuple') {
          const items = entry.key.items.slice();
          items[which] = replacement;
          newKey = { t: 'tuple', items };
        } else {
          newKey = replacement;
        }
        selections.delete(id);
        selections.set(pyKeyId(newKey), { key: newKey, value: entry.value });
      }
    }
    // 2. conditioning, duplicate check, sort.
    const rows: MatchRow[] = [];
    const seen = new Set<string>();
    for (const { key, value } of substituted ? selections.values() : rawEntries) {
      const cond = conditionMatchKey(key, ctx.cache);
      const id = cond.join('\u0000');
      if (seen.has(id)) {
        throw new MappingFormatError(`Key ${pyTupleRepr(cond)} appears more than once `);
      }
      seen.add(id);
      rows.push({ key: cond, matchers: [], choice: value });
    }
    rows.sort((a, b) => compareTuples(a.key, b.key));
    // 3. runtime valid values (`get_parkey_map`), which also checks key lengths.
    this.checks = parameters.map((name) => ({ name, list: [], set: new Set(), permissive: false, hasNa: false }));
    for (const [i, check] of this.checks.entries()) {
      const values = new Set<string>();
      let unchecked = false;
      for (const row of rows) {
        if (row.key.length !== parameters.length) {
          throw new ValidationError(
            `Match key=${pyTupleRepr(row.key)} is wrong length for parameters ${pyTupleRepr(parameters as string[])}`,
          );
        }
        if (esotericKey(row.key[i])) {
          unchecked = true;
          break;
        }
        for (const v of globList(row.key[i])) values.add(v);
      }
      if (!unchecked) check.list = [...values].sort(pyCompare);
      check.set = new Set(check.list);
      check.permissive = check.set.has('*') || check.set.has('ANY') || check.set.has('N/A');
      check.hasNa = check.set.has('N/A');
    }
    for (const row of rows) {
      try {
        row.matchers = row.key.map((k) => ctx.cache.matcher(k));
      } catch (exc) {
        throw new MappingFormatError(`Invalid match key ${pyTupleRepr(row.key)}: ${(exc as Error).message}`);
      }
    }
    this.rows = rows;
    // Columns where a dataset value N/A is "don't care" (0) for every row: such a column
    // cannot change a weight or eliminate a row, so the winnow skips it.
    this.naNeutral = parameters.map((_, i) => rows.every((r) => r.matchers[i].match('N/A') === 0));
    // 4. index the parameter with the most distinct exact values (speeds big HST rmaps).
    let best = -1;
    let bestCount = 1;
    for (let i = 0; i < parameters.length && rows.length > 8; i++) {
      const distinct = new Set<string>();
      for (const r of rows) if (r.matchers[i].kind === 'exact') distinct.add(r.matchers[i].key);
      if (distinct.size > bestCount) {
        best = i;
        bestCount = distinct.size;
      }
    }
    this.indexParam = best;
    if (best >= 0) {
      this.index = new Map();
      rows.forEach((r, n) => {
        const m = r.matchers[best];
        if (m.kind === 'exact') {
          const list = this.index!.get(m.key);
          if (list) list.push(n);
          else this.index!.set(m.key, [n]);
        } else {
          this.unindexed.push(n);
        }
      });
    }
  }

  get size(): number {
    return this.rows.length;
  }

  override validValues(): Record<string, readonly string[]> {
    const out: Record<string, readonly string[]> = {};
    for (const c of this.checks) out[c.name] = c.list;
    return out;
  }

  /** Rows that can match `header`, in sorted order (the index skips rows with another exact value). */
  private candidates(header: Header): number[] | undefined {
    if (!this.index) return undefined;
    const v = header[this.parameters[this.indexParam]] ?? 'UNDEFINED';
    if (v === '*' || v === 'N/A') return undefined;
    const exact = this.index.get(v);
    if (!exact) return this.unindexed;
    if (this.unindexed.length === 0) return exact;
    // Merged once per value and kept: both lists are sorted row numbers.
    let merged = this.mergedCandidates.get(v);
    if (!merged) {
      merged = [...exact, ...this.unindexed].sort((a, b) => a - b);
      this.mergedCandidates.set(v, merged);
    }
    return merged;
  }

  choose(header: Header): Choice {
    const choice = this.chooseOrFail(header);
    if (choice instanceof LookupFailure) throw choice.error();
    return choice;
  }

  override chooseOrFail(header: Header): Choice | LookupFailure {
    const checks = this.checks;
    const nparams = this.parameters.length;
    // _check_defined, reading each value once
    const values: string[] = new Array(nparams);
    for (let i = 0; i < nparams; i++) {
      const c = checks[i];
      const v = header[c.name];
      if (v === undefined && !(c.name in header) && !c.hasNa) {
        return new LookupFailure(`Match required lookup parameter ${pyStrRepr(c.name)} is undefined.`, validationFailure, true);
      }
      values[i] = v ?? 'UNDEFINED';
    }
    // _validate_header
    for (let i = 0; i < nparams; i++) {
      const c = checks[i];
      const v = values[i];
      if (c.set.has(v)) continue; // the usual case, before anything else
      const failure = validateValue(c, v, this.ctx);
      if (failure) return failure;
    }
    // _winnow: weight = -(number of parameters matched by a non-N/A pattern). Survivors are
    // kept in row order with their weights; weights lie in [-nparams, 0].
    // the columns that can change the outcome (see naNeutral)
    let active: number[] | undefined;
    for (let i = 0; i < nparams; i++) {
      if (values[i] === 'N/A' && this.naNeutral[i]) {
        active ??= [];
        for (let j = 0; j < i; j++) if (!(values[j] === 'N/A' && this.naNeutral[j])) active.push(j);
        for (let j = i + 1; j < nparams; j++) if (!(values[j] === 'N/A' && this.naNeutral[j])) active.push(j);
        break;
      }
    }
    const cands = this.candidates(header);
    const count = cands ? cands.length : this.rows.length;
    const rows = this.rows;
    let survivors: number[] | undefined;
    let weights: number[] | undefined;
    let best = 1;
    for (let k = 0; k < count; k++) {
      const n = cands ? cands[k] : k;
      const matchers = rows[n].matchers;
      let weight = 0;
      let failed = false;
      if (active) {
        for (let a = 0; a < active.length; a++) {
          const i = active[a];
          const st = matchers[i].match(values[i]);
          if (st === -1) {
            failed = true;
            break;
          }
          weight -= st;
        }
      } else {
        for (let i = 0; i < nparams; i++) {
          const st = matchers[i].match(values[i]);
          if (st === -1) {
            failed = true;
            break;
          }
          weight -= st;
        }
      }
      if (failed) continue;
      if (!survivors) {
        survivors = [n];
        weights = [weight];
      } else {
        survivors.push(n);
        weights!.push(weight);
      }
      if (weight < best) best = weight;
    }
    if (!survivors) return NO_MATCH;
    // _rank_candidates: weight groups in ascending order, rows in key order within a group.
    for (let w = best; w <= 0; w++) {
      let members: number[];
      if (survivors.length === 1) {
        members = survivors;
      } else {
        members = [];
        for (let k = 0; k < survivors.length; k++) if (weights![k] === w) members.push(survivors[k]);
        if (members.length === 0) continue;
      }
      let selection: Selector | Terminal;
      if (members.length > 1) {
        if (!this.ctx.mergeOverlaps) return AMBIGUOUS;
        // Merges and tuples depend only on the rows: made once per set of rows and kept,
        // failed merges included (as a fatal failure carrying the original exception).
        // Keyed cheaply (a group can hold thousands of rows, e.g. synphot with COMPNAME N/A)
        // and confirmed against the rows themselves.
        const id = groupId(members);
        const hit = this.merged.get(id);
        let merged = hit && sameRows(hit.members, members) ? hit.value : undefined;
        if (!merged) {
          const choices = members.map((n) => this.rows[n].choice);
          if (isSelector(choices[0])) {
            try {
              let m: Selector = choices[0];
              for (const other of choices.slice(1)) m = m.merge(other);
              merged = m;
            } catch (exc) {
              merged = new LookupFailure((exc as Error).message, () => exc as CrdsError, true);
            }
          } else {
            // The real library returns the tuple as is, selector objects included; they can
            // only be shown by their Python repr.
            merged = choices.map((c) => (isSelector(c) ? c.pyRepr() : c));
          }
          this.merged.set(id, { members, value: merged });
        }
        if (merged instanceof LookupFailure) return merged;
        selection = Array.isArray(merged) ? merged.slice() : merged; // a tuple: the caller's own copy
      } else {
        selection = this.rows[members[0]].choice;
      }
      if (!isSelector(selection)) return selection;
      const choice = selection.chooseOrFail(header);
      if (!(choice instanceof LookupFailure) || choice.fatal) return choice;
      if (survivors.length === 1) break;
    }
    return NO_MATCH;
  }
}

/** A cheap key for a group of row numbers (sorted, distinct): size, ends and sum. */
function groupId(rows: readonly number[]): string {
  let sum = 0;
  for (let i = 0; i < rows.length; i++) sum += rows[i];
  return `${rows.length}:${rows[0]}:${rows[rows.length - 1]}:${sum}`;
}

function sameRows(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** MatchSelector.condition_key: raw key → tuple of conditioned strings. */
export function conditionMatchKey(key: PyValue, cache?: EngineCache): string[] {
  const items = key.t === 'tuple' ? key.items : [key];
  const cond = cache ? (s: string) => cache.conditionValue(s) : conditionValue;
  return items.map((e) => conditionKeyElement(e, cond));
}

function conditionKeyElement(elem: PyValue, cond: (s: string) => string): string {
  if (elem.t === 'str') {
    const s = elem.v;
    if ((s.startsWith('{') && s.endsWith('}')) || (s.startsWith('(') && s.endsWith(')'))) return s;
    if (s.includes('|')) return globList(s).map(cond).join('|');
    return cond(s); // glob_compress of a value without '|' is the value itself
  }
  if (elem.t === 'tuple' || elem.t === 'list') return elem.items.map((v) => cond(pyStr(v))).join('|');
  return cond(pyStr(elem));
}

function compareTuples(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return a.length - b.length;
}

/**
 * Selector._validate_value in runtime mode (crds-rules.md §3.5 step 2): undefined when the
 * value passes, else the ValidationError as a fatal failure (rare malformed cases throw).
 */
function validateValue(check: ParamCheck, value: string, ctx: SelectorContext): LookupFailure | undefined {
  const { name, list, set, permissive } = check;
  // The passing tests first (their order does not matter: none of them throws), then the
  // failures already met, then the rest in the real library's order.
  if (permissive || list.length === 0) return undefined;
  if (set.has(value) || set.has(ctx.cache.conditionValue(value))) return undefined;
  const known = check.failures?.get(value);
  if (known) return known;
  if (value.startsWith('NOT')) return validateValue(check, value.slice(3).trim(), ctx);
  if (esotericKey(value) || value === '*' || value === 'ANY' || value === 'N/A') return undefined;
  if (value.toLowerCase().startsWith('between')) {
    const parts = pySplit(value);
    if (parts.length < 3) throw new CrdsError(`not enough values to unpack (expected 3, got ${parts.length})`);
    if (parts.length > 3) throw new CrdsError('too many values to unpack (expected 3)');
    return validateValue(check, parts[1], ctx) ?? validateValue(check, parts[2], ctx);
  }
  if (list.length === 1 && list[0].includes(':')) {
    const limits = list[0].split(':');
    if (limits.length !== 2) throw new CrdsError(`too many values to unpack (expected 2)`);
    const [lo, hi] = limits.map(pyFloat);
    const v = pyFloat(value);
    if (lo <= v && v <= hi) return;
    throw new ValidationError(
      ` parameter=${pyStrRepr(name)} value =${pyStrRepr(value)} is not in range [${pyFloatRepr(lo)} .. ${pyFloatRepr(hi)}]`,
    );
  }
  const subs = ctx.substitutions[name];
  if (subs && Object.prototype.hasOwnProperty.call(subs, value)) {
    const replacement = subs[value];
    if (replacement.t === 'str') return validateValue(check, replacement.v, ctx);
  }
  check.failures ??= new Map();
  let failure = check.failures.get(value);
  if (!failure) {
    check.listRepr ??= listRepr(list);
    failure = new LookupFailure(` parameter=${pyStrRepr(name)} value=${pyStrRepr(value)} is not in ${check.listRepr}`, validationFailure, true);
    if (check.failures.size < 64) check.failures.set(value, failure);
  }
  return failure;
}

// ---------------------------------------------------------------------------------------
// UseAfter and its relatives

interface DatedEntry {
  key: string;
  choice: Selector | Terminal;
}

function parametersRepr(parameters: readonly string[]): string {
  return pyTupleRepr(parameters as string[]);
}

const undefinedDateFailures = new Map<string, LookupFailure>();

/** InvalidDatetimeError "UseAfter parameter 'X' is UNDEFINED." as a value, one per parameter name. */
function undefinedDateFailure(param: string): LookupFailure {
  let f = undefinedDateFailures.get(param);
  if (!f) {
    f = new LookupFailure(`UseAfter parameter ${pyStrRepr(param)} is UNDEFINED.`, invalidDatetimeFailure, true);
    if (undefinedDateFailures.size < 1000) undefinedDateFailures.set(param, f);
  }
  return f;
}

function invalidDateMessage(kind: string, parameters: readonly string[], value: string, reason: string): string {
  return `${kind} Invalid date/time format for ${parametersRepr(parameters)} value = ${pyStrRepr(value)} exception is ${pyStrRepr(reason)}`;
}

/** Selector._validate_datetime: reformat or ValidationError naming the parameters. */
function validateDatetime(kind: string, parameters: readonly string[], value: string, cache?: EngineCache): string {
  try {
    return cache ? cache.reformatDate(value) : reformatDate(value);
  } catch (exc) {
    throw new ValidationError(invalidDateMessage(kind, parameters, value, (exc as Error).message));
  }
}

function checkDefinedDateParams(kind: string, parameters: readonly string[], header: Header): void {
  for (const p of parameters) {
    if (!(p in header)) throw new ValidationError(`${kind} required lookup parameter ${pyStrRepr(p)} is undefined.`);
  }
}

/** UseAfter._raw_date: the parameter values joined by single spaces. */
function rawDate(parameters: readonly string[], header: Header): string {
  let date = '';
  for (const p of parameters) {
    const v = header[p].trim();
    if (v === 'UNDEFINED') throw new InvalidDatetimeError(`UseAfter parameter ${pyStrRepr(p)} is UNDEFINED.`);
    date += v + ' ';
  }
  return date.trim();
}

/** The nested lookup of a single-selection selector (Selector.choose's loop for one selection). */
function chooseNested(choice: Selector | Terminal, header: Header): Choice {
  if (!isSelector(choice)) return choice;
  try {
    return choice.choose(header);
  } catch (exc) {
    if (exc instanceof CrdsLookupError) {
      throw new CrdsLookupError(`All lookup attempts failed. last exception: ${exc.message}`);
    }
    throw exc;
  }
}

/**
 * The UseAfter selectors a lookup consults, collected while `consulted` is set (by
 * crds/choice-memo.ts, to learn which date lists decide an outcome). Unset: no cost but a test.
 */
export const useAfterTrace: { consulted?: Set<UseAfterSelector> } = {};

export class UseAfterSelector extends Selector {
  readonly kind: SelectorName = 'UseAfter';
  /** entries sorted by key (textual comparison, as the real library) */
  readonly entries: readonly DatedEntry[];

  constructor(parameters: readonly string[], rawEntries: RawEntry[], ctx: SelectorContext, merged?: DatedEntry[]) {
    super(parameters, rawEntries, ctx);
    if (merged) {
      this.entries = merged;
    } else {
      // rawEntries are unique keys already (buildSelector applies Python dict semantics).
      const entries = rawEntries.map((e) => ({ key: e.key.t === 'str' ? e.key.v : pyStr(e.key), choice: e.value }));
      let sorted = true;
      for (let i = 1; i < entries.length && sorted; i++) sorted = entries[i - 1].key <= entries[i].key;
      this.entries = sorted ? entries : entries.sort((a, b) => pyCompare(a.key, b.key));
    }
  }

  get size(): number {
    return this.entries.length;
  }

  override validValues(): Record<string, '*'> {
    const out: Record<string, '*'> = {};
    for (const p of this.parameters) out[p] = '*';
    return out;
  }

  /** Greatest entry with key <= date, or undefined. */
  protected find(date: string): DatedEntry | undefined {
    const e = this.entries;
    let lo = 0;
    let hi = e.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (date >= e[mid].key) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? undefined : e[found];
  }

  choose(header: Header): Choice {
    const choice = this.chooseOrFail(header);
    if (choice instanceof LookupFailure) throw choice.error();
    return choice;
  }

  /**
   * The reformatted date this selector would look up for `header`, or undefined when the
   * lookup would fail on the date itself (a parameter missing or UNDEFINED, a bad date).
   */
  dateOf(header: Header): string | undefined {
    const params = this.parameters;
    for (let i = 0; i < params.length; i++) {
      const v = header[params[i]];
      if (v === undefined || v.trim() === 'UNDEFINED') return undefined;
    }
    const date =
      params.length === 2
        ? this.ctx.cache.reformatDatePair(header[params[0]], header[params[1]])
        : this.ctx.cache.reformatDateOrFailure(rawDate(params, header));
    return typeof date === 'string' ? date : undefined;
  }

  override chooseOrFail(header: Header): Choice | LookupFailure {
    const params = this.parameters;
    if (useAfterTrace.consulted) useAfterTrace.consulted.add(this);
    // _check_defined: every parameter first
    for (let i = 0; i < params.length; i++) {
      if (header[params[i]] === undefined) checkDefinedDateParams(this.kind, params, header);
    }
    // _raw_date, with its UNDEFINED failure as a value
    for (let i = 0; i < params.length; i++) {
      if (header[params[i]].trim() === 'UNDEFINED') return undefinedDateFailure(params[i]);
    }
    // Dates (and their failures) are memoized: the datasets of one visit share them. The
    // usual (date, time) pair is looked up by the header's own strings, the same objects
    // for every rmap of a call (their hashes are cached), without building the joined text.
    const date =
      params.length === 2
        ? this.ctx.cache.reformatDatePair(header[params[0]], header[params[1]])
        : this.ctx.cache.reformatDateOrFailure(rawDate(params, header));
    if (typeof date !== 'string') {
      return new LookupFailure(invalidDateMessage(this.kind, params, rawDate(params, header), date.message), validationFailure, true);
    }
    const entry = this.find(date);
    if (!entry) return new LookupFailure(`No selection <= ${pyStrRepr(date)}`, useAfterFailure);
    return chooseNested(entry.choice, header);
  }

  /** Union of two date lists; on equal dates the greater file name wins. */
  override merge(other: Selector | Terminal): Selector {
    if (!(other instanceof UseAfterSelector)) {
      throw new CrdsError(`'${shortTypeName(other)}' object has no attribute '_selections'`);
    }
    const out: DatedEntry[] = [];
    const a = this.entries;
    const b = other.entries;
    let i = 0;
    let j = 0;
    while (i < a.length && j < b.length) {
      if (a[i].key < b[j].key) out.push(a[i++]);
      else if (b[j].key < a[i].key) out.push(b[j++]);
      else {
        const own = a[i++];
        const oth = b[j++];
        out.push(String(own.choice) >= String(oth.choice) ? own : oth);
      }
    }
    while (i < a.length) out.push(a[i++]);
    while (j < b.length) out.push(b[j++]);
    return this.clone(out);
  }

  protected clone(entries: DatedEntry[]): Selector {
    return new UseAfterSelector(this.parameters, [], this.ctx, entries);
  }
}

const VERSION_RE = /^(\d{1,8}(\.\d{1,8}(\.\d{1,8})?)?)[a-zA-Z0-9_+\-.]{0,128}$/;

function versionKey(version: string): number[] {
  const m = VERSION_RE.exec(version);
  if (!m) throw new ValidationError(`Invalid version string ${pyStrRepr(version)}`);
  const parts = m[1].split('.').slice(0, 3).map(Number);
  while (parts.length < 3) parts.push(0);
  return parts;
}

function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

export class VersionAfterSelector extends UseAfterSelector {
  override readonly kind: SelectorName = 'VersionAfter';

  // Back to the generic protocol (UseAfter's fast path does not apply here).
  override chooseOrFail(header: Header): Choice | LookupFailure {
    return Selector.prototype.chooseOrFail.call(this, header);
  }

  private readonly versions: { v: number[]; choice: Selector | Terminal }[];

  constructor(parameters: readonly string[], rawEntries: RawEntry[], ctx: SelectorContext, merged?: DatedEntry[]) {
    super(parameters, rawEntries, ctx, merged);
    this.versions = this.entries
      .map((e) => ({ v: versionKey(e.key), choice: e.choice }))
      .sort((a, b) => compareVersions(a.v, b.v));
  }

  override choose(header: Header): Choice {
    checkDefinedDateParams(this.kind, this.parameters, header);
    const joined = globList(this.parameters.map((p) => header[p]).join('.')).join('|');
    const version = versionKey(joined);
    let found = -1;
    for (let i = 0; i < this.versions.length; i++) if (compareVersions(this.versions[i].v, version) <= 0) found = i;
    if (found < 0) throw new VersionAfterError(`No selection <= (${version.join(', ')})`);
    return chooseNested(this.versions[found].choice, header);
  }

  protected override clone(entries: DatedEntry[]): Selector {
    return new VersionAfterSelector(this.parameters, [], this.ctx, entries);
  }
}

export class ClosestTimeSelector extends UseAfterSelector {
  override readonly kind: SelectorName = 'ClosestTime';

  // Back to the generic protocol (UseAfter's fast path does not apply here).
  override chooseOrFail(header: Header): Choice | LookupFailure {
    return Selector.prototype.chooseOrFail.call(this, header);
  }


  override choose(header: Header): Choice {
    checkDefinedDateParams(this.kind, this.parameters, header);
    const date = validateDatetime(this.kind, this.parameters, rawDate(this.parameters, header));
    const t = Date.parse(date.replace(' ', 'T') + 'Z');
    let best = -1;
    let bestDiff = Infinity;
    this.entries.forEach((e, i) => {
      // numpy float32 array of |Δt| seconds; argmin takes the first minimum.
      const diff = Math.fround(Math.abs(Date.parse(reformatDate(e.key).replace(' ', 'T') + 'Z') - t) / 1000);
      if (diff < bestDiff) {
        bestDiff = diff;
        best = i;
      }
    });
    if (best < 0) throw new CrdsError('attempt to get argmin of an empty sequence');
    return chooseNested(this.entries[best].choice, header);
  }

  protected override clone(entries: DatedEntry[]): Selector {
    return new ClosestTimeSelector(this.parameters, [], this.ctx, entries);
  }
}

function validateNumber(kind: string, name: string, value: string): number {
  try {
    return pyFloat(value);
  } catch {
    throw new ValidationError(`${kind} Invalid number for ${pyStrRepr(name)} value = ${pyStrRepr(value)}`);
  }
}

interface NumericEntry {
  key: number;
  choice: Selector | Terminal;
}

export class GeometricallyNearestSelector extends Selector {
  readonly kind = 'GeometricallyNearest' as const;
  private readonly entries: NumericEntry[];

  constructor(parameters: readonly string[], rawEntries: RawEntry[], ctx: SelectorContext) {
    super(parameters, rawEntries, ctx);
    const byKey = new Map<string, { key: string; choice: Selector | Terminal }>();
    for (const e of rawEntries) byKey.set(pyKeyId(e.key), { key: conditionValue(pyStr(e.key)), choice: e.value });
    this.entries = [...byKey.values()]
      .sort((a, b) => pyCompare(a.key, b.key))
      .map((e) => ({ key: Math.fround(pyFloat(e.key)), choice: e.choice }));
  }

  get size(): number {
    return this.entries.length;
  }

  choose(header: Header): Choice {
    const name = this.parameters[0];
    if (!(name in header)) throw new ValidationError(`GeometricallyNearest required lookup parameter ${pyStrRepr(name)} is undefined.`);
    const value = validateNumber(this.kind, name, header[name]);
    let best = -1;
    let bestDiff = Infinity;
    this.entries.forEach((e, i) => {
      const diff = Math.abs(e.key - value);
      if (diff < bestDiff) {
        bestDiff = diff;
        best = i;
      }
    });
    if (best < 0) throw new CrdsError('attempt to get argmin of an empty sequence');
    return chooseNested(this.entries[best].choice, header);
  }
}

export class BracketSelector extends Selector {
  readonly kind = 'Bracket' as const;
  private readonly entries: NumericEntry[];

  constructor(parameters: readonly string[], rawEntries: RawEntry[], ctx: SelectorContext) {
    super(parameters, rawEntries, ctx);
    const byKey = new Map<string, NumericEntry>();
    for (const e of rawEntries) {
      const k = e.key.t === 'int' || e.key.t === 'float' ? e.key.v : pyFloat(pyStr(e.key));
      byKey.set(pyKeyId(e.key), { key: k, choice: e.value });
    }
    this.entries = [...byKey.values()].sort((a, b) => a.key - b.key);
  }

  get size(): number {
    return this.entries.length;
  }

  choose(header: Header): Choice {
    const name = this.parameters[0];
    if (!(name in header)) throw new CrdsError(pyStrRepr(name)); // Python KeyError
    const value = validateNumber(this.kind, name, header[name]);
    const s = this.entries;
    if (s.length === 0) throw new CrdsError('list index out of range');
    let index = 0;
    while (index < s.length && value > s[index].key) index++;
    let less: NumericEntry;
    let greater: NumericEntry;
    if (index === s.length) less = greater = s[index - 1];
    else if (index === 0 || value === s[index].key) less = greater = s[index];
    else [less, greater] = [s[index - 1], s[index]];
    const a = chooseNested(less.choice, header);
    const b = less === greater ? a : chooseNested(greater.choice, header);
    return [a, b];
  }
}

interface Relation {
  version: number;
  relation: string;
  choice: Selector | Terminal;
}

function parseRelation(textIn: string): { version: number; relation: string } {
  let text = textIn;
  if (text.replace(/=/g, '').trim() === 'default') return { version: Number.MAX_SAFE_INTEGER, relation: '=' };
  if (!text.startsWith('<') && !text.startsWith('=')) text = '=' + text;
  const m = /^([<=]=?|default)(.*)$/s.exec(text);
  if (!m) throw new ValidationError(`Illegal version expression in: ${pyStrRepr(text)}`);
  const v = m[2].trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v)) {
    throw new ValidationError(`Invalid version expression in: ${pyStrRepr(text)}`);
  }
  return { version: Number(v), relation: m[1].replace('==', '=') };
}

function compareRelations(a: { version: number; relation: string }, b: { version: number; relation: string }): number {
  if (a.version !== b.version) return a.version - b.version;
  return pyCompare(a.relation, b.relation);
}

export class SelectVersionSelector extends Selector {
  readonly kind = 'SelectVersion' as const;
  private readonly relations: Relation[];

  constructor(parameters: readonly string[], rawEntries: RawEntry[], ctx: SelectorContext) {
    super(parameters, rawEntries, ctx);
    const byKey = new Map<string, Relation>();
    for (const e of rawEntries) byKey.set(pyKeyId(e.key), { ...parseRelation(pyStr(e.key)), choice: e.value });
    this.relations = [...byKey.values()].sort(compareRelations);
  }

  get size(): number {
    return this.relations.length;
  }

  choose(header: Header): Choice {
    const name = this.parameters[0];
    if (!(name in header)) throw new CrdsError(pyStrRepr(name)); // Python KeyError
    const value = header[name];
    if (value.replace(/=/g, '').trim() !== 'default') validateNumber(this.kind, name, value);
    const target = parseRelation(value);
    let index = 0;
    while (index < this.relations.length && compareRelations(this.relations[index], target) < 0) index++;
    if (index >= this.relations.length) throw new CrdsError('list index out of range');
    return chooseNested(this.relations[index].choice, header);
  }
}

// ---------------------------------------------------------------------------------------
// Construction from the AST

const SELECTOR_CLASSES: Record<
  SelectorName,
  new (parameters: readonly string[], rawEntries: RawEntry[], ctx: SelectorContext) => Selector
> = {
  Match: MatchSelector,
  UseAfter: UseAfterSelector,
  VersionAfter: VersionAfterSelector,
  SelectVersion: SelectVersionSelector,
  ClosestTime: ClosestTimeSelector,
  GeometricallyNearest: GeometricallyNearestSelector,
  Bracket: BracketSelector,
};

/** Convert a terminal AST value to its JS form. */
export function terminalOf(v: PyValue): Terminal {
  const js = pyToJs(v);
  return js as Terminal;
}

/**
 * Instantiate the selector tree of `call`, level `depth` taking its parameters from
 * `parkey[depth]` (the rmap header parkey, a tuple of tuples).
 */
export function buildSelector(call: PyCall, parkey: PyValue, ctx: SelectorContext, depth = 0): Selector {
  if (parkey.t !== 'tuple' || depth >= parkey.items.length) {
    throw new MappingFormatError(`header parkey has no parameter tuple for selector nesting level ${depth + 1} (${call.name})`);
  }
  const params = parkey.items[depth];
  if (params.t !== 'tuple' && params.t !== 'list') {
    throw new MappingFormatError(`parameters should be a list or tuple of header keys, not ${pyRepr(params)}`);
  }
  const parameters = params.items.map((p) => {
    if (p.t !== 'str') throw new MappingFormatError(`parkey names must be strings, not ${pyRepr(p)}`);
    return p.v;
  });
  // Python dict semantics: a repeated key keeps its first position and its last value.
  const byId = new Map<string, RawEntry>();
  const allStrings = call.arg.entries.every((e) => e.key.t === 'str');
  for (const e of call.arg.entries) {
    const value = e.value.t === 'call' ? buildSelector(e.value, parkey, ctx, depth + 1) : terminalOf(e.value);
    const id = allStrings ? (e.key as { v: string }).v : pyKeyId(e.key);
    const prior = byId.get(id);
    if (prior) prior.value = value;
    else byId.set(id, { key: e.key, value });
  }
  return new SELECTOR_CLASSES[call.name](parameters, [...byId.values()], ctx);
}
