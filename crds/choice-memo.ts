// Memo of one rmap's selector choices, for workloads that look up very many datasets sharing
// few modes (the affected-datasets computation: every dataset of the archive under two
// contexts). A choice depends only on the header values the selector tree reads, so it is
// kept per distinct tuple of them, except that a UseAfter date is reduced to its position
// among the UseAfter dates that decide the outcome (a raw date is nearly unique per dataset):
//
// * key: every parameter value read by a non-UseAfter selector of the tree (Match, and the
//   rare VersionAfter, ClosestTime, Bracket… whose values are kept as they are);
// * under a key, the lookups so far learnt which UseAfter lists they consulted (useAfterTrace:
//   the matched row's list, or a merge of equal-weight rows' lists, or the next weight group's
//   after a date earlier than every entry). Two dates with the same position among the union
//   of those lists' dates take the same entry in each of them, so the lookup follows the same
//   path to the same outcome. When a lookup consults a list not seen before under its key, the
//   union grows and the outcomes kept under the key are dropped (their positions changed).
//
// Outcomes kept: choices; failures only when the key determines them with their message (no
// UseAfter consulted, or a message without the date: the only way a position-equal date could
// change an outcome is the "No selection <= 'date'" text). Never kept: exceptions, and lookups
// whose date is missing, UNDEFINED or malformed (they go the plain way every time).
import { LookupFailure, UseAfterSelector, useAfterTrace, type Choice, type Header, type Selector } from './selectors';

/** Keys kept per rmap before the memo starts afresh (bounds memory on a long run). */
const MAX_KEYS = 100_000;
/** the key element of a parameter absent from the header (a Map key no string can equal) */
const UNSET = Symbol('unset');

interface KeyEntry {
  /** outcome when no UseAfter was consulted: the key alone decides it */
  fixed?: Choice | LookupFailure;
  /** the UseAfter lists consulted under this key so far */
  lists: Set<UseAfterSelector>;
  /** sorted distinct dates of those lists */
  dates: string[];
  /** position of a date among `dates` (count of dates <= it) → outcome */
  byPosition: Map<number, Choice | LookupFailure>;
}

/** Count of entries of sorted `dates` that are <= `date` (UseAfter's own comparison). */
function position(dates: readonly string[], date: string): number {
  let lo = 0;
  let hi = dates.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (date >= dates[mid]) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A tuple as the caller's own copy (Match returns tuples as fresh arrays). */
function own(choice: Choice | LookupFailure): Choice | LookupFailure {
  return Array.isArray(choice) ? choice.slice() : choice;
}

export class ChoiceMemo {
  /** key parameter values, one Map level each, → the key's entry */
  private readonly keys = new Map<unknown, unknown>();
  private keyCount = 0;
  /** a UseAfter list of other parameters met at run time: the memo stands aside for good */
  private disabled = false;
  hits = 0;
  misses = 0;

  private constructor(
    private readonly root: Selector,
    /** parameters whose values make the key, in tree order */
    private readonly keyParams: readonly string[],
    /** a UseAfter of the tree: how the dataset's date is read (all share its parameters) */
    private readonly dated: UseAfterSelector | undefined,
  ) {}

  /**
   * The memo of a selector tree, or undefined when it cannot be keyed this way (UseAfter
   * levels with different parameters, or a UseAfter parameter also read by another selector).
   */
  static of(root: Selector): ChoiceMemo | undefined {
    const keyParams: string[] = [];
    let dated: UseAfterSelector | undefined;
    let ok = true;
    const walk = (sel: Selector): void => {
      // UseAfter itself (VersionAfter and ClosestTime compare their values otherwise: keyed)
      if (sel instanceof UseAfterSelector && sel.kind === 'UseAfter') {
        if (!dated) dated = sel;
        else if (!sameParams(dated.parameters, sel.parameters)) ok = false;
      } else {
        for (const p of sel.parameters) if (!keyParams.includes(p)) keyParams.push(p);
      }
      for (const e of sel.rawEntries) if (isSelectorValue(e.value)) walk(e.value);
    };
    walk(root);
    if (dated && dated.parameters.some((p) => keyParams.includes(p))) ok = false;
    return ok ? new ChoiceMemo(root, keyParams, dated) : undefined;
  }

  /** The UseAfter date of `header` (undefined: missing, UNDEFINED or malformed). */
  private dateOf(header: Header): string | undefined {
    const dated = this.dated;
    if (!dated) return undefined;
    const p = dated.parameters;
    const a = header[p[0]];
    const b = p.length === 2 ? header[p[1]] : undefined;
    if (p.length <= 2 && a !== undefined && a === lastDate.a && b === lastDate.b && p.length === lastDate.n) return lastDate.date;
    const date = dated.dateOf(header);
    if (p.length <= 2) Object.assign(lastDate, { a, b, n: p.length, date });
    return date;
  }

  /** root.chooseOrFail(header), from the memo when it holds the outcome. */
  choose(header: Header): Choice | LookupFailure {
    if (this.disabled) return this.root.chooseOrFail(header);
    // The key's entry, through one Map per key parameter (no joined key string to build and hash).
    const params = this.keyParams;
    const last = params.length - 1;
    let level: Map<unknown, unknown> = this.keys;
    for (let i = 0; i < last; i++) {
      const v = header[params[i]] ?? UNSET;
      let next = level.get(v) as Map<unknown, unknown> | undefined;
      if (!next) {
        next = new Map();
        level.set(v, next);
      }
      level = next;
    }
    const key = last >= 0 ? (header[params[last]] ?? UNSET) : UNSET;
    let entry = level.get(key) as KeyEntry | undefined;
    if (entry?.fixed !== undefined) {
      this.hits++;
      return own(entry.fixed);
    }
    // The date is read only when a UseAfter may decide (not for a key with a fixed outcome).
    let date: string | undefined;
    if (entry) {
      date = this.dateOf(header);
      if (date === undefined) return this.root.chooseOrFail(header);
      const kept = entry.byPosition.get(position(entry.dates, date));
      if (kept !== undefined) {
        this.hits++;
        return own(kept);
      }
    }
    this.misses++;
    // The plain lookup, learning which UseAfter lists it consults.
    const consulted = new Set<UseAfterSelector>();
    const outer = useAfterTrace.consulted;
    useAfterTrace.consulted = consulted;
    let outcome: Choice | LookupFailure;
    try {
      outcome = this.root.chooseOrFail(header);
    } finally {
      useAfterTrace.consulted = outer;
      if (outer) for (const s of consulted) outer.add(s);
    }
    if (!entry) {
      if (++this.keyCount > MAX_KEYS) {
        this.keys.clear();
        this.keyCount = 0;
        return this.choose(header); // afresh (rare): the levels walked are gone
      }
      entry = { lists: new Set(), dates: [], byPosition: new Map() };
      level.set(key, entry);
    }
    if (consulted.size === 0) {
      entry.fixed = own(outcome);
      return outcome;
    }
    date ??= this.dateOf(header);
    if (date === undefined) return outcome;
    let grew = false;
    for (const list of consulted) {
      if (entry.lists.has(list)) continue;
      if (!this.dated || !sameParams(list.parameters, this.dated.parameters)) {
        this.disabled = true;
        this.keys.clear();
        this.keyCount = 0;
        return outcome;
      }
      entry.lists.add(list);
      grew = true;
    }
    if (grew) {
      const all = new Set<string>();
      for (const list of entry.lists) for (const e of list.entries) all.add(e.key);
      entry.dates = [...all].sort();
      entry.byPosition.clear();
    }
    if (outcome instanceof LookupFailure && outcome.message.includes(date)) return outcome;
    entry.byPosition.set(position(entry.dates, date), own(outcome));
    return outcome;
  }
}

/**
 * The last date read, by its parameter values: the rmaps of one dataset read the same
 * DATE-OBS and TIME-OBS strings one after the other (reformatting is pure: any rmap's will do).
 */
const lastDate = { a: undefined as string | undefined, b: undefined as string | undefined, n: 0, date: undefined as string | undefined };

function sameParams(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((p, i) => p === b[i]);
}

function isSelectorValue(v: unknown): v is Selector {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'rawEntries' in v && 'parameters' in v;
}
