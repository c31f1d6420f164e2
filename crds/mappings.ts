// The mapping model (crds-rules.md §1, §3): PipelineContext (.pmap) → InstrumentContext
// (.imap) → ReferenceMapping (.rmap), loaded lazily through a MappingStore that caches
// parsed mappings by name and content checksum.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MappingAst, PyCall, PyDict, PyValue } from './ast';
import { EngineCache } from './cache';
import { mappingChecksum } from './checksum';
import { ChoiceMemo } from './choice-memo';
import { conditionHeader, conditionHeaderKeys, conditionValue, type HeaderValue } from './conditioning';
import {
  ChecksumError,
  CrdsError,
  CrdsUnknownInstrumentError,
  CrdsUnknownReftypeError,
  ExpressionError,
  MappingError,
  MappingFormatError,
  MappingNotFoundError,
  MissingHeaderKeyError,
} from './errors';
import { HeaderExpression, type ExpressionFailure, type PyObj } from './expressions';
import { findHook, hstDnrCheck, type Hook } from './hst-hooks';
import { fitsToParkeys } from './jwst-keywords';
import { parseMapping, pyStr, pyStrRepr, pyToJs } from './parser';
import {
  buildSelector,
  DEFAULT_SUBSTITUTIONS,
  LookupFailure,
  Selector,
  type Choice,
  type Header,
  type SelectorContext,
} from './selectors';

export type MappingKind = 'pmap' | 'imap' | 'rmap';
export type Mapping = PipelineContext | InstrumentContext | ReferenceMapping;
export type ChecksumPolicy = boolean | 'warn';

const NA_VALUES = new Set(['N/A', 'TEMP_N/A', 'n/a', 'temp_n/a']);
// The real library's omit set contains 'temp_n/a' instead of 'temp_omit' (quirk Q10).
const OMIT_VALUES = new Set(['OMIT', 'TEMP_OMIT', 'omit', 'temp_n/a']);
export const isNaValue = (v: unknown): boolean => typeof v === 'string' && NA_VALUES.has(v);
export const isOmitValue = (v: unknown): boolean => typeof v === 'string' && OMIT_VALUES.has(v);
export const isSpecialValue = (v: unknown): boolean => isNaValue(v) || isOmitValue(v);

/** Observatory-wide parkeys added to every rmap's required parkeys (crds.<obs>.extra_keys). */
const OBSERVATORY_EXTRA_KEYS: Record<string, readonly string[]> = {
  jwst: ['META.VISIT.TSOVISIT', 'META.INSTRUMENT.LAMP_STATE'],
};

/** Header keywords that can name the instrument, in the library's order of preference. */
export const INSTRUMENT_KEYWORDS = [
  'INSTRUME',
  'META.INSTRUMENT.NAME',
  'META_INSTRUMENT_NAME',
  'INSTRUMENT',
  'ROMAN.META.INSTRUMENT.NAME',
  'META.INSTRUMENT.TYPE',
  'META_INSTRUMENT_TYPE',
];

/**
 * Thrown by ReferenceMapping.lookup / InstrumentContext.getRmap when a type is N/A or omitted
 * for a header (Python Irrelevant/OmitReferenceTypeError). Deliberately not Error subclasses:
 * they are control flow on the hot path, and capturing a stack trace for each is costly.
 */
export class IrrelevantReferenceType {
  constructor(readonly message: string) {}
}
export class OmitReferenceType {
  constructor(readonly message: string) {}
}

// The outcomes of an rmap lookup that are not a choice, made once: resolve() returns them
// and only lookup() throws them.
const NA_DNR = new IrrelevantReferenceType('Reference type not required for DNR dataset.');
const NA_NOT_REQUIRED = new IrrelevantReferenceType('No match found and reference type is not required.');
const NA_BY_RULES = new IrrelevantReferenceType('Rules define this type as Not Applicable for these observation parameters.');
const NA_BY_RELEVANCE = new IrrelevantReferenceType('Rmap does not apply to the given parameter set based on rmap_relevance expression.');
const OMIT_BY_RULES = new OmitReferenceType('Rules define this type to be Omitted for these observation parameters.');
const OMIT_BY_EXPRESSION = new OmitReferenceType('rmap_omit expression indicates this type should be omitted.');
type Resolved = Choice | LookupFailure | IrrelevantReferenceType | OmitReferenceType;

/** Header value through the real library's LowerCaseDict view (§1.3). */
export function headerView(v: PyValue): unknown {
  if (v.t === 'str') return v.v.startsWith('(') && v.v.endsWith(')') ? v.v : v.v.toLowerCase();
  return pyToJs(v);
}

/** Python dict from a dict literal: last value wins (keys compared as Python would). */
function dictEntries(d: PyDict): Map<string, { key: PyValue; value: PyValue }> {
  const out = new Map<string, { key: PyValue; value: PyValue }>();
  for (const e of d.entries) {
    const id = pyStr(e.key);
    const prior = out.get(id);
    if (prior) prior.value = e.value;
    else out.set(id, { key: e.key, value: e.value });
  }
  return out;
}

function strList(v: PyValue | undefined): string[] {
  if (!v) return [];
  if (v.t === 'tuple' || v.t === 'list') return v.items.map((i) => pyStr(i));
  return [pyStr(v)];
}

export interface LoadOptions {
  ignoreChecksum?: ChecksumPolicy;
  /** memo shared by the mappings of a store (a fresh one when absent) */
  cache?: EngineCache;
  /** instantiate rmap selector trees now, as the real library does (default: on first use) */
  eager?: boolean;
  /** Called with warnings (checksum downgraded to warn, failed relevance expressions). */
  warn?: (message: string) => void;
  /** mappingChecksum(text), when the caller has computed it already */
  checksum?: string;
}

abstract class BaseMapping {
  abstract readonly kind: MappingKind;
  /** Raw header values as written (Python dict semantics: last duplicate wins). */
  readonly header: Readonly<Record<string, PyValue>>;
  readonly name: string;

  constructor(
    /** The name the mapping was loaded by (a basename, normally). */
    readonly filename: string,
    readonly ast: MappingAst,
    protected readonly store: MappingStore | undefined,
    requiredKeys: readonly string[],
  ) {
    const header: Record<string, PyValue> = {};
    for (const { key, value } of dictEntries(ast.header).values()) header[pyStr(key)] = value;
    this.header = header;
    for (const key of requiredKeys) {
      if (!(key in header)) throw new MissingHeaderKeyError(`Required header key ${pyStrRepr(key)} is missing.`);
    }
    this.name = path.basename(filename);
  }

  /** Header value through the lower-casing view; `fallback` when absent. */
  get(key: string, fallback?: unknown): unknown {
    const v = this.header[key];
    return v === undefined ? fallback : headerView(v);
  }

  private observatoryName?: string;
  get observatory(): string {
    return (this.observatoryName ??= String(this.get('observatory', '')));
  }
  get derivedFrom(): string {
    return String(this.get('derived_from', ''));
  }
  get parkey(): PyValue {
    return this.header['parkey'];
  }
  get comment(): string | undefined {
    return this.ast.comment;
  }

  abstract mappingNames(): string[];
  abstract referenceNames(): string[];
}

abstract class ContextMapping extends BaseMapping {
  /** lower-cased selection key → file name or special value, in file order */
  readonly selections: ReadonlyMap<string, string>;
  /** the keys as written (HST imaps lower-case, JWST upper-case) */
  readonly rawSelections: ReadonlyMap<string, string>;
  protected readonly loaded = new Map<string, Mapping>();

  constructor(filename: string, ast: MappingAst, store: MappingStore | undefined, required: readonly string[]) {
    super(filename, ast, store, required);
    if (ast.selector.t !== 'dict') {
      throw new MappingFormatError(`Can't load file ${filename} : the selector of a context mapping must be a dict`);
    }
    const sel = new Map<string, string>();
    const raw = new Map<string, string>();
    for (const { key, value } of dictEntries(ast.selector).values()) {
      sel.set(pyStr(key).toLowerCase(), pyStr(value));
      raw.set(pyStr(key), pyStr(value));
    }
    this.selections = sel;
    this.rawSelections = raw;
  }

  /** The nested mapping selected by `key` (case-insensitive), loaded on first use. */
  protected child(key: string): Mapping {
    const k = key.toLowerCase();
    let m = this.loaded.get(k);
    if (!m) {
      const file = this.selections.get(k)!;
      if (!this.store) throw new MappingNotFoundError(`No mapping store to load ${pyStrRepr(file)}`);
      // A name written inside a mapping must stay inside the mappings folder.
      if (!/^[A-Za-z0-9_.+-]+$/.test(file) || file.startsWith('.')) {
        throw new MappingFormatError(`Illegal mapping name ${pyStrRepr(file)} in ${pyStrRepr(this.name)}`);
      }
      m = this.store.load(file);
      this.loaded.set(k, m);
    }
    return m;
  }

  /** Keys whose values are mapping files (not N/A / OMIT). */
  normalKeys(): string[] {
    return [...this.selections.entries()].filter(([, v]) => !isSpecialValue(v)).map(([k]) => k);
  }

  mappingNames(): string[] {
    const names = [this.name];
    for (const k of this.normalKeys()) names.push(...this.child(k).mappingNames());
    return names.sort();
  }

  referenceNames(): string[] {
    const refs = new Set<string>();
    for (const k of this.normalKeys()) for (const r of this.child(k).referenceNames()) refs.add(r);
    return [...refs].sort();
  }
}

export class PipelineContext extends ContextMapping {
  readonly kind = 'pmap' as const;
  readonly instrumentKey: string;

  /** header keys naming the instrument, in the order they are tried */
  private readonly instrumentKeys: readonly string[];

  constructor(filename: string, ast: MappingAst, store?: MappingStore) {
    super(filename, ast, store, ['mapping', 'parkey', 'name', 'derived_from', 'observatory']);
    const pk = this.parkey;
    this.instrumentKey = (pk.t === 'tuple' && pk.items.length ? pyStr(pk.items[0]) : pyStr(pk)).toUpperCase();
    this.instrumentKeys = [this.instrumentKey.toUpperCase(), this.instrumentKey.toLowerCase(), ...INSTRUMENT_KEYWORDS];
  }

  /** The instrument named by a header (§3.3); throws CrdsError when there is none. */
  getInstrument(header: Readonly<Record<string, HeaderValue>>): string {
    for (const key of this.instrumentKeys) {
      if (!(key in header)) continue;
      const v = String(header[key]);
      if (v.toUpperCase() !== 'UNDEFINED') return v.toUpperCase();
    }
    throw new CrdsError(`Missing '${this.instrumentKey}' keyword in header for determining instrument.`);
  }

  getImap(instrument: string): InstrumentContext {
    let key = instrument.toLowerCase();
    if (key === 'wfii') key = 'wfpc2';
    const value = this.selections.get(key);
    if (value === undefined || isSpecialValue(value)) {
      throw new CrdsUnknownInstrumentError(`Unknown instrument ${pyStrRepr(key)} for context ${pyStrRepr(this.name)}`);
    }
    const m = this.child(key);
    if (!(m instanceof InstrumentContext)) throw new MappingFormatError(`${m.name} is not an instrument mapping`);
    return m;
  }

  /** All instrument mappings (loads them). */
  instruments(): string[] {
    return this.normalKeys();
  }

  /** `{instrument: [parkey...]}` like the server's get_required_parkeys. */
  getRequiredParkeys(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    const own = strList(this.parkey);
    for (const k of this.normalKeys()) out[k] = [...own, ...this.getImap(k).getRequiredParkeys()];
    return out;
  }

  /**
   * Best references like the real get_best_references / hv_best_references: keys
   * upper-cased, values conditioned, header minimized to the instrument's parkeys, then
   * each requested type (all types of the imap when none) looked up. Results are keyed by
   * lower-case type: a file name, "NOT FOUND n/a" or "NOT FOUND <message>"; omitted types absent.
   * Throws for a header without an instrument or with an unknown instrument.
   */
  getBestReferences(header: Readonly<Record<string, HeaderValue>>, reftypes?: readonly string[]): BestRefs {
    // conditionHeader, with the store's memo for string values (they repeat across datasets)
    const cache = this.store?.cache;
    let conditioned: Record<string, string>;
    if (cache) {
      conditioned = {};
      for (const key of Object.keys(header)) {
        const v = header[key];
        conditioned[cache.upperKey(key)] =
          typeof v === 'string' ? cache.conditionValue(v) : typeof v === 'number' ? cache.conditionNumber(v) : conditionValue(v);
      }
    } else {
      conditioned = conditionHeader(header);
    }
    const imap = this.getImap(this.getInstrument(conditioned));
    const [minimized, ns] = imap.minimize(this.observatory, conditioned, this.instrumentKey);
    // The real library determines the instrument again from the minimized header, so an
    // instrument given only under an alias keyword (e.g. META.INSTRUMENT.NAME for HST) fails.
    return this.getImap(this.getInstrument(minimized)).bestRefs(minimized, ns, reftypes);
  }
}

export class InstrumentContext extends ContextMapping {
  readonly kind = 'imap' as const;
  private requiredParkeys?: string[];
  private kinds?: string[];
  /** every type in file order, with its rmap once loaded (see bestRefs) */
  private plan?: { kind: string; value: string; rmap?: ReferenceMapping }[];
  /** minimization keys (required parkeys + the pmap's instrument key), lower- and upper-cased */
  private minimizeKeys?: {
    instrumentKey: string;
    keys: string[];
    /** lower-cased keys, undefined where no upper-case key can equal it (see minimize) */
    lower: (string | undefined)[];
    upper: string[];
    /** [index in keys, META_X_Y alias] for the dotted keys */
    aliases: [number, string][];
  };

  constructor(filename: string, ast: MappingAst, store?: MappingStore) {
    super(filename, ast, store, ['mapping', 'parkey', 'name', 'derived_from', 'observatory', 'instrument']);
  }

  get instrument(): string {
    return String(this.get('instrument'));
  }

  /** All type names of this instrument (lower-case), in file order. */
  filekinds(): string[] {
    return [...this.fileKindList()];
  }

  private fileKindList(): readonly string[] {
    return (this.kinds ??= [...this.selections.keys()]);
  }

  /**
   * minimizeHeader(observatory, header, [...getRequiredParkeys(), instrumentKey]) with the
   * key casings precomputed, and the expression namespace of the result (what
   * conditionHeaderKeys would make of it: the header itself without dotted keys).
   * `header` is conditioned: its keys are upper-cased, so the lower-case spelling of an
   * ASCII key that changes when upper-cased is never among them and is not looked up.
   */
  minimize(
    observatory: string,
    header: Readonly<Record<string, string>>,
    instrumentKey: string,
  ): [Record<string, string>, Record<string, PyObj>] {
    let mk = this.minimizeKeys;
    if (!mk || mk.instrumentKey !== instrumentKey) {
      const keys = [...this.getRequiredParkeys(), instrumentKey];
      const aliases: [number, string][] = [];
      keys.forEach((k, i) => k.includes('.') && aliases.push([i, k.replace(/\./g, '_')]));
      mk = this.minimizeKeys = {
        instrumentKey,
        keys,
        lower: keys.map((k) => {
          const l = k.toLowerCase();
          return /^[\x00-\x7f]*$/.test(l) && l !== l.toUpperCase() ? undefined : l;
        }),
        upper: keys.map((k) => k.toUpperCase()),
        aliases,
      };
    }
    const h = observatory === 'jwst' ? fitsToParkeys(header) : header;
    const { keys, lower, upper, aliases } = mk;
    const out: Record<string, string> = {};
    for (let i = 0; i < keys.length; i++) {
      const l = lower[i];
      out[keys[i]] = (l === undefined ? undefined : h[l]) ?? h[upper[i]] ?? 'UNDEFINED';
    }
    if (aliases.length === 0) return [out, out];
    const ns: Record<string, PyObj> = {};
    for (let i = 0; i < keys.length; i++) ns[keys[i]] = out[keys[i]];
    for (let a = 0; a < aliases.length; a++) ns[aliases[a][1]] = out[keys[aliases[a][0]]];
    return [out, ns];
  }

  /** The rmap for a type; throws CrdsUnknownReftypeError, or internal N/A / omit signals. */
  getRmap(filekind: string): ReferenceMapping {
    const k = filekind.toLowerCase();
    const v = this.selections.get(k);
    if (v === undefined) throw new CrdsUnknownReftypeError(`Unknown reference type ${pyStrRepr(k)}`);
    if (isNaValue(v)) throw new IrrelevantReferenceType(`Type ${pyStrRepr(k)} is N/A for ${pyStrRepr(this.instrument)}`);
    if (isOmitValue(v)) throw new OmitReferenceType(`Type ${pyStrRepr(k)} is OMITTED for ${pyStrRepr(this.instrument)}`);
    const m = this.child(k);
    if (!(m instanceof ReferenceMapping)) throw new MappingFormatError(`${m.name} is not a reference mapping`);
    return m;
  }

  /** Sorted union of the parkeys of every rmap (+ REFTYPE and extra_keys), loading them all. */
  getRequiredParkeys(): string[] {
    if (!this.requiredParkeys) {
      const keys = new Set<string>(strList(this.parkey));
      for (const k of strList(this.header['extra_keys'])) keys.add(k);
      for (const k of this.normalKeys()) for (const p of this.getRmap(k).getRequiredParkeys()) keys.add(p);
      this.requiredParkeys = [...keys].sort();
    }
    return this.requiredParkeys;
  }

  /** InstrumentContext.get_best_references over an already conditioned, minimized header. */
  getBestReferences(header: Header, reftypes?: readonly string[]): BestRefs {
    return this.bestRefs(header, conditionHeaderKeys(header) as Record<string, PyObj>, reftypes);
  }

  /** getBestReferences with the expression namespace of `header` (the same for every rmap) given. */
  bestRefs(header: Header, ns: Readonly<Record<string, PyObj>>, reftypes?: readonly string[]): BestRefs {
    const refs: BestRefs = {};
    if (!(reftypes && reftypes.length)) {
      // every type: the per-type decisions that do not depend on the header, made once
      const plan = (this.plan ??= this.fileKindList().map((kind) => ({ kind, value: this.selections.get(kind)!, rmap: undefined })));
      for (let i = 0; i < plan.length; i++) {
        const p = plan[i];
        if (p.rmap) {
          let ref: BestRef | null;
          try {
            ref = p.rmap.getBestRef(header, ns);
          } catch (exc) {
            ref = 'NOT FOUND ' + (exc as Error).message;
          }
          if (ref !== null) refs[p.kind] = ref;
          continue;
        }
        const ref = this.bestRef(p.kind, p.value, header, ns);
        if (ref !== null) refs[p.kind] = ref;
        const m = this.loaded.get(p.kind);
        if (m instanceof ReferenceMapping) p.rmap = m; // loaded and usable: straight to it from now on
      }
      return refs;
    }
    for (let i = 0; i < reftypes.length; i++) {
      const filekind = reftypes[i].toLowerCase();
      const ref = this.bestRef(filekind, this.selections.get(filekind), header, ns);
      if (ref !== null) refs[filekind] = ref;
    }
    return refs;
  }

  /** One type: getRmap's outcomes without its signal objects and their messages, then the rmap's answer. */
  private bestRef(filekind: string, v: string | undefined, header: Header, ns: Readonly<Record<string, PyObj>>): BestRef | null {
    if (v === undefined) return 'NOT FOUND Unknown reference type ' + pyStrRepr(filekind);
    if (NA_VALUES.has(v)) return 'NOT FOUND n/a';
    if (OMIT_VALUES.has(v)) return null;
    try {
      const m = this.loaded.get(filekind) ?? this.child(filekind);
      if (!(m instanceof ReferenceMapping)) throw new MappingFormatError(`${m.name} is not a reference mapping`);
      return m.getBestRef(header, ns);
    } catch (exc) {
      return 'NOT FOUND ' + (exc as Error).message;
    }
  }
}

/**
 * One type's result as the server's JSON carries it: a string, or for a Python tuple (an
 * equal-weight Match-only tie) the JSON array the real server sends.
 */
export type BestRef = string | string[];
export type BestRefs = Record<string, BestRef>;

function resultValue(v: Choice | null): BestRef | null {
  if (v === null || typeof v === 'string') return v;
  return v as string[];
}

/** Mapping.minimize_header: only the required keys, missing ones 'UNDEFINED'. */
export function minimizeHeader(
  observatory: string,
  header: Readonly<Record<string, string>>,
  keys: readonly string[],
): Record<string, string> {
  const h = observatory === 'jwst' ? fitsToParkeys(header) : header;
  const out: Record<string, string> = {};
  for (const key of keys) out[key] = h[key.toLowerCase()] ?? h[key.toUpperCase()] ?? 'UNDEFINED';
  return out;
}

export class ReferenceMapping extends BaseMapping {
  readonly kind = 'rmap' as const;
  private built?: Selector;
  private buildError?: Error;
  /** choice memo (null: none kept), decided on first lookup */
  private memo?: ChoiceMemo | null;
  private readonly selectorCache: EngineCache;
  readonly requiredParkeys: readonly string[];
  private readonly reffileSwitch: string;
  private readonly reffileRequired: string;
  private readonly relevanceExpr: HeaderExpression;
  private readonly omitExpr: HeaderExpression;
  private readonly relevanceIsTrue: boolean;
  private readonly omitIsFalse: boolean;
  private readonly parkeyRelevance = new Map<string, HeaderExpression>();
  /** (parkey, expression) for the required parkeys that have a parkey_relevance expression, in parkey order */
  private readonly parkeyRelevanceList: [string, HeaderExpression][] = [];
  /** warnings already given (the same failing expression is reported once, not per lookup) */
  private readonly warned = new Set<string>();
  /** META_X_Y → META.X.Y for the dotted required parkeys */
  private readonly dottedAliases = new Map<string, string>();
  private readonly requiredParkeySet: ReadonlySet<string>;
  private readonly precondition?: Hook;
  private readonly fallback?: Hook;
  private readonly warn: (message: string) => void;

  constructor(filename: string, ast: MappingAst, store?: MappingStore, options: LoadOptions = {}) {
    // Problems the real library meets while instantiating the selector come before the header
    // checks; the cheap ones are checked here, the tree itself is built on first use.
    const rawHeader = new Map<string, PyValue>();
    for (const { key, value } of dictEntries(ast.header).values()) rawHeader.set(pyStr(key), value);
    const fail = (reason: string): never => {
      throw new MappingError(`Can't load file ${filename} : ${reason}`);
    };
    if (ast.selector.t !== 'call') fail('the selector of a reference mapping must be a selector call such as Match({...})');
    if (!rawHeader.has('parkey')) fail("'parkey'");
    super(filename, ast, store, ['mapping', 'parkey', 'name', 'derived_from', 'observatory', 'instrument', 'filekind']);
    this.selectorCache = options.cache ?? store?.cache ?? new EngineCache();
    this.warn = options.warn ?? (() => undefined);
    this.reffileSwitch = String(this.get('reffile_switch', 'NONE')).toUpperCase();
    this.reffileRequired = String(this.get('reffile_required', 'NONE')).toUpperCase();
    this.requiredParkeys = this.computeRequiredParkeys();
    this.requiredParkeySet = new Set(this.requiredParkeys);
    for (const p of this.requiredParkeys) if (p.includes('.')) this.dottedAliases.set(p.replace(/\./g, '_'), p);
    this.relevanceExpr = this.compile(String(this.get('rmap_relevance', 'always')).split('always').join('True'));
    const omit = this.get('rmap_omit', 'False');
    this.omitExpr = this.compile(typeof omit === 'string' ? omit : 'False');
    this.relevanceIsTrue = this.relevanceExpr.source.trim() === 'True';
    this.omitIsFalse = this.omitExpr.source.trim() === 'False';
    const relevance = this.header['parkey_relevance'];
    const exprs: [string, string][] = [];
    if (relevance?.t === 'dict') {
      for (const { key, value } of dictEntries(relevance).values()) exprs.push([pyStr(key), pyStr(value)]);
    }
    for (const p of strList(this.header['comment_parkeys'])) exprs.push([p.toLowerCase(), 'keep_comments']);
    for (const [k, src] of exprs) this.parkeyRelevance.set(k.toLowerCase(), this.compile(src));
    for (const parkey of this.requiredParkeys) {
      const expr = this.parkeyRelevance.get(parkey.toLowerCase());
      if (expr) this.parkeyRelevanceList.push([parkey, expr]);
    }
    const hooksRaw = this.header['hooks'];
    const hooks = hooksRaw?.t === 'dict' ? (pyToJs(hooksRaw) as Record<string, string>) : undefined;
    this.precondition = findHook(this.observatory, this.instrument, this.filekind, 'precondition_header', hooks);
    this.fallback = findHook(this.observatory, this.instrument, this.filekind, 'fallback_header', hooks);
  }

  get instrument(): string {
    return String(this.get('instrument'));
  }
  get filekind(): string {
    return String(this.get('filekind'));
  }
  /** the memo of conditioning, matchers and dates this rmap's lookups use (its store's) */
  get cache(): EngineCache {
    return this.selectorCache;
  }

  /**
   * The selector tree, instantiated on first use (lazy per type: loading a context only
   * parses and verifies its files). Errors are the real library's load errors:
   * MappingError "Can't load file NAME : reason".
   */
  get selector(): Selector {
    if (this.built) return this.built;
    if (this.buildError) throw this.buildError;
    try {
      const substitutions: SelectorContext['substitutions'] = { ...DEFAULT_SUBSTITUTIONS };
      const subs = this.header['substitutions'];
      if (subs?.t === 'dict') {
        for (const { key, value } of dictEntries(subs).values()) {
          if (value.t !== 'dict') continue;
          const table: Record<string, PyValue> = {};
          for (const e of dictEntries(value).values()) table[pyStr(e.key)] = e.value;
          substitutions[pyStr(key)] = table;
        }
      }
      const mo = this.header['merge_overlaps'];
      const mergeOverlaps = mo === undefined ? true : ['TRUE', '1'].includes(String(headerView(mo)).toUpperCase());
      const call = this.ast.selector as PyCall;
      this.built = buildSelector(call, this.header['parkey'], { name: this.name, substitutions, mergeOverlaps, cache: this.selectorCache });
      return this.built;
    } catch (exc) {
      this.buildError = new MappingError(`Can't load file ${this.filename} : ${(exc as Error).message}`);
      throw this.buildError;
    }
  }

  /** Instantiate the selector tree now (what the real library does at load); throws its errors. */
  build(): this {
    void this.selector;
    return this;
  }

  private compile(source: string): HeaderExpression {
    // Dotted parkeys become evaluable names: META.X.Y → META_X_Y.
    let code = source;
    for (const p of this.requiredParkeys) if (p.includes('.')) code = code.split(p).join(p.replace(/\./g, '_'));
    try {
      return this.selectorCache.expression(code);
    } catch (exc) {
      throw new MappingFormatError(`Can't load file ${pyStrRepr(this.name)} : invalid header expression ${pyStrRepr(source)}: ${(exc as Error).message}`);
    }
  }

  private computeRequiredParkeys(): string[] {
    const keys: string[] = [];
    const pk = this.parkey;
    if (pk.t === 'tuple' || pk.t === 'list') {
      for (const level of pk.items) {
        if (level.t === 'tuple' || level.t === 'list') keys.push(...level.items.map((i) => pyStr(i)));
        else keys.push(pyStr(level));
      }
    }
    if (this.reffileSwitch !== 'NONE') keys.push(this.reffileSwitch);
    keys.push(...strList(this.header['extra_keys']));
    keys.push(...(OBSERVATORY_EXTRA_KEYS[this.observatory] ?? []));
    return keys;
  }

  getRequiredParkeys(): string[] {
    return [...this.requiredParkeys];
  }

  mappingNames(): string[] {
    return [this.name];
  }

  referenceNames(): string[] {
    return this.selector.referenceNames().filter((n) => !isSpecialValue(n));
  }

  /** Runtime valid values per parameter of the top selector (what validation accepts). */
  validValues(): Record<string, readonly string[] | '*'> {
    return this.selector.validValues();
  }

  /**
   * One type's result for a conditioned, minimized header: a file name (or tuple as array),
   * "NOT FOUND n/a", "NOT FOUND <message>", or null when the type is omitted.
   */
  getBestRef(header: Header, exprNamespace?: Readonly<Record<string, PyObj>>): BestRef | null {
    let result: Resolved;
    try {
      result = this.resolve(header, exprNamespace);
    } catch (exc) {
      return 'NOT FOUND ' + (exc as Error).message;
    }
    if (result instanceof LookupFailure) return 'NOT FOUND ' + result.message;
    if (result instanceof IrrelevantReferenceType) return 'NOT FOUND n/a';
    if (result instanceof OmitReferenceType) return null;
    return resultValue(result);
  }

  /**
   * rmap lookup (§3.4). Throws CrdsError on failure, IrrelevantReferenceType for N/A and
   * OmitReferenceType for omitted. `exprNamespace` (the header with META_X_Y aliases) may be
   * passed when the caller already has it.
   */
  lookup(headerIn: Header, exprNamespace?: Readonly<Record<string, PyObj>>): Choice {
    const result = this.resolve(headerIn, exprNamespace);
    if (result instanceof LookupFailure) throw result.error();
    if (result instanceof IrrelevantReferenceType || result instanceof OmitReferenceType) throw result;
    return result;
  }

  /**
   * lookup() with its outcomes returned as values: the choice, the final lookup failure, or
   * an N/A / omit signal. Exceptions only for the rare failures that are not lookup failures
   * (hooks, parkey_relevance errors).
   */
  private resolve(headerIn: Header, exprNamespace?: Readonly<Record<string, PyObj>>): Resolved {
    const exprHeader = exprNamespace ?? (conditionHeaderKeys(headerIn as Record<string, PyObj>) as Record<string, PyObj>);
    if (!this.omitIsFalse && this.omitted(exprHeader)) return OMIT_BY_EXPRESSION;
    if (!this.relevanceIsTrue && !this.relevant(exprHeader)) return NA_BY_RELEVANCE;
    // Hooks return a new header; they never modify the one given.
    let header: Header = this.precondition ? this.precondition(headerIn as Record<string, string>, this)! : headerIn;
    header = this.mapIrrelevantParkeysToNa(header);
    let bestref: Choice | LookupFailure;
    try {
      bestref = this.choose(header);
    } catch (exc) {
      bestref = new LookupFailure((exc as Error).message, () => exc as CrdsError);
    }
    if (bestref instanceof LookupFailure) {
      const failure = bestref;
      if (this.isHst && hstDnrCheck(header as Record<string, string>)) return NA_DNR;
      const fb = this.fallback ? this.fallback(headerIn as Record<string, string>, this) : null;
      if (fb) {
        try {
          const minimized = minimizeHeader(this.observatory, fb, this.requiredParkeys);
          bestref = this.choose(this.mapIrrelevantParkeysToNa(minimized));
        } catch (exc) {
          bestref = new LookupFailure((exc as Error).message, () => exc as CrdsError);
        }
      } else {
        bestref = failure;
      }
      if (bestref instanceof LookupFailure) {
        if (this.reffileRequired === 'YES' || this.reffileRequired === 'NONE') return bestref;
        return NA_NOT_REQUIRED;
      }
    }
    if (typeof bestref === 'string') {
      if (NA_VALUES.has(bestref)) return NA_BY_RULES;
      if (OMIT_VALUES.has(bestref)) return OMIT_BY_RULES;
    }
    return bestref;
  }

  /** The selector's choice, through the store's choice memo when it keeps one (crds/choice-memo.ts). */
  private choose(header: Header): Choice | LookupFailure {
    if (this.memo === undefined) this.memo = this.store?.memoizeChoices ? (ChoiceMemo.of(this.selector) ?? null) : null;
    return this.memo ? this.memo.choose(header) : this.selector.chooseOrFail(header);
  }

  /** The memo's hit and miss counts, when this rmap keeps one. */
  memoStats(): { hits: number; misses: number } | undefined {
    return this.memo ? { hits: this.memo.hits, misses: this.memo.misses } : undefined;
  }

  private get isHst(): boolean {
    return this.observatory === 'hst';
  }

  /** rmap_omit; an evaluation error is a warning and means not omitted (quirk Q3/Q4). */
  private omitted(ns: Readonly<Record<string, PyObj>>): boolean {
    const r = this.omitExpr.tryTest(ns);
    if (typeof r === 'boolean') return r;
    this.warnOnce('OMIT', this.omitExpr, r);
    return false;
  }

  /** rmap_relevance; an evaluation error is a warning and means relevant. */
  private relevant(ns: Readonly<Record<string, PyObj>>): boolean {
    const r = this.relevanceExpr.tryTest(ns);
    if (typeof r === 'boolean') return r;
    this.warnOnce('relevance', this.relevanceExpr, r);
    return true;
  }

  private warnOnce(what: string, expr: HeaderExpression, failure: ExpressionFailure): void {
    const id = what + '\u0000' + failure.message;
    if (this.warned.has(id)) return;
    if (this.warned.size < 100) this.warned.add(id);
    this.warn(`Failed checking ${what} for ${pyStrRepr(this.instrument)} ${pyStrRepr(this.filekind)} with expr ${pyStrRepr(expr.source)} : ${failure.message}`);
  }

  /**
   * The parkey_relevance namespace (§3.4 step 5): the header, every required parkey defined
   * (missing ⇒ UNDEFINED), META_X_Y aliases of dotted keys, and keep_comments (false here).
   * A static lookup over the header passed along: no namespace copy or closure per lookup.
   */
  private readonly relevanceLookup = (name: string, ns: unknown): PyObj | undefined => {
    if (name === 'keep_comments') return false;
    const header = ns as Header;
    const key = this.dottedAliases.get(name) ?? name;
    const v = Object.prototype.hasOwnProperty.call(header, key) ? header[key] : undefined;
    if (v !== undefined) return v;
    if (Object.prototype.hasOwnProperty.call(header, name)) return header[name];
    return this.requiredParkeySet.has(key) ? 'UNDEFINED' : undefined;
  };

  /** parkey_relevance: parkeys whose expression is False become 'N/A'. Errors propagate. */
  private mapIrrelevantParkeysToNa(header: Header): Header {
    const list = this.parkeyRelevanceList;
    if (list.length === 0) return header;
    let out: Record<string, string> | undefined;
    for (let i = 0; i < list.length; i++) {
      const [parkey, expr] = list[i];
      if (!expr.testWith(this.relevanceLookup, header)) {
        out ??= { ...header };
        out[parkey] = 'N/A';
      }
    }
    return out ?? header;
  }
}

// ---------------------------------------------------------------------------------------
// Loading and caching

/** The class for a mapping name, or undefined when only its header can tell. */
export function mappingKindOfName(name: string): MappingKind | undefined {
  const ext = path.extname(name).slice(1);
  return ext === 'pmap' || ext === 'imap' || ext === 'rmap' ? ext : undefined;
}

/** Build a mapping object from text (parse, instantiate, verify checksum per policy). */
export function mappingFromText(text: string, filename: string, store?: MappingStore, options: LoadOptions = {}): Mapping {
  const base = path.basename(filename);
  const ast = parseMapping(text, base);
  let kind = mappingKindOfName(base);
  if (!kind) {
    const h = new Map([...dictEntries(ast.header).values()].map((e) => [pyStr(e.key), e.value] as const));
    const m = h.get('mapping');
    const t = m ? String(headerView(m)) : '';
    kind = t === 'pipeline' ? 'pmap' : t === 'instrument' ? 'imap' : t === 'reference' ? 'rmap' : undefined;
    if (!kind) throw new MappingFormatError(`Unknown mapping type for ${pyStrRepr(filename)}`);
  }
  const mapping =
    kind === 'pmap'
      ? new PipelineContext(filename, ast, store)
      : kind === 'imap'
        ? new InstrumentContext(filename, ast, store)
        : new ReferenceMapping(filename, ast, store, options);
  if (options.eager && mapping instanceof ReferenceMapping) mapping.build();
  const policy = options.ignoreChecksum ?? false;
  if (policy !== true) {
    try {
      const recorded = mapping.header['sha1sum'];
      if (recorded === undefined) throw new ChecksumError(`sha1sum is missing in ${pyStrRepr(base)}`);
      if ((options.checksum ?? mappingChecksum(text)) !== pyStr(recorded)) throw new ChecksumError(`sha1sum mismatch in ${pyStrRepr(base)}`);
    } catch (exc) {
      if (policy === 'warn') options.warn?.(`Checksum error : ${(exc as Error).message}`);
      else throw exc;
    }
  }
  return mapping;
}

/** fs.statSync, or undefined where fs.existsSync would say false (any error). */
function statIfExists(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

interface CacheEntry {
  mapping: Mapping;
  mtimeMs: number;
  size: number;
}

/**
 * One per mappings folder. `mappingsDir` holds either <obs>/ subfolders (like
 * crds-cache/mappings) or the mapping files themselves. Parsed mappings are cached by
 * name + content checksum; a file changed on disk is re-read.
 */
export class MappingStore {
  readonly ignoreChecksum: ChecksumPolicy;
  readonly warnings: string[] = [];
  /** memo of conditioning, matchers and dates shared by this store's mappings */
  readonly cache = new EngineCache();
  private readonly byPath = new Map<string, CacheEntry>();
  private readonly byContent = new Map<string, Mapping>();

  /** Rmaps memoise their selector choices (crds/choice-memo.ts): for bulk lookups. */
  readonly memoizeChoices: boolean;

  constructor(
    readonly mappingsDir: string,
    options: { ignoreChecksum?: ChecksumPolicy; memoizeChoices?: boolean } = {},
  ) {
    this.ignoreChecksum = options.ignoreChecksum ?? false;
    this.memoizeChoices = options.memoizeChoices ?? false;
  }

  /** The path of a mapping name (basename or path); throws MappingNotFoundError. */
  locate(name: string): string {
    return this.find(name).file;
  }

  /** locate() and the file's stat, with one stat call per candidate path. */
  private find(name: string): { file: string; stat: fs.Stats } {
    if (name.includes('/') || name.includes(path.sep)) {
      // A path: absolute, or relative to the mappings folder.
      const file = path.isAbsolute(name) ? name : path.join(this.mappingsDir, name);
      const stat = statIfExists(file);
      if (stat) return { file, stat };
      throw new MappingNotFoundError(`Mapping file ${pyStrRepr(name)} not found`);
    }
    const flat = path.join(this.mappingsDir, name);
    let stat = statIfExists(flat);
    if (stat) return { file: flat, stat };
    const obs = name.split(/[_.]/)[0].toLowerCase();
    const nested = path.join(this.mappingsDir, obs, name);
    stat = statIfExists(nested);
    if (stat) return { file: nested, stat };
    throw new MappingNotFoundError(`Mapping ${pyStrRepr(name)} not found in ${pyStrRepr(this.mappingsDir)}`);
  }

  load(name: string): Mapping {
    const { file, stat } = this.find(name);
    const hit = this.byPath.get(file);
    if (hit && hit.mtimeMs === stat.mtimeMs && hit.size === stat.size) return hit.mapping;
    const text = fs.readFileSync(file, 'utf8');
    const checksum = mappingChecksum(text);
    const contentKey = path.basename(file) + ':' + checksum;
    let mapping = this.byContent.get(contentKey);
    if (!mapping) {
      mapping = mappingFromText(text, path.basename(file), this, {
        checksum,
        ignoreChecksum: this.ignoreChecksum,
        warn: (m) => this.warnings.push(m),
      });
      // Only verified (or deliberately unverified) content is cached by checksum.
      this.byContent.set(contentKey, mapping);
    }
    this.byPath.set(file, { mapping, mtimeMs: stat.mtimeMs, size: stat.size });
    return mapping;
  }

  loadContext(name: string): PipelineContext {
    const m = this.load(name);
    if (!(m instanceof PipelineContext)) throw new MappingFormatError(`${pyStrRepr(name)} is not a pipeline context (.pmap)`);
    return m;
  }

  /** Drop every cached mapping. */
  clear(): void {
    this.byPath.clear();
    this.byContent.clear();
  }
}

/** Raised by callers that need to distinguish expression failures. */
export { ExpressionError };
