// Affected datasets of a context transition, computed as the real client's
// `crds bestrefs --affected-datasets --old-context OLD --new-context NEW` does
// (crds/bestrefs/bestrefs.py): the types the logical differences touch, the earliest
// exposure time that can be affected per instrument (`--datasets-since=auto`), then per
// dataset the best references of only those types under both contexts, where a dataset is
// affected when any type's assignment differs and N/A and undefined results count.
// Pure: the caller reads datasets and writes results.
import { affectedTypes, diffAction, mappingDifferences, removeBoring, type MappingLoader } from './diff';
import { pyStr } from './parser';
import type { PyValue } from './ast';
import { ReferenceMapping, type BestRef, type MappingStore, type PipelineContext } from './mappings';

/** The client's bounds of dataset exposure times (bestrefs.MIN_DATE / MAX_DATE). */
export const MIN_DATE = '1900-01-01 00:00:00';
export const MAX_DATE = '9999-01-01 23:59:59';

export interface TransitionPlan {
  oldContext: string;
  newContext: string;
  /** instrument → types whose rules differ (MappingDifferencer.get_affected), sorted. */
  affected: Record<string, string[]>;
  /** instrument → earliest exposure time a dataset needs to be affected (MIN_DATE: all). */
  since: Record<string, string>;
  /** Why every date counts, when it does: rmap header changes or deleted files. */
  allDatesReason?: string;
}

/**
 * matches.get_exptime: "DATE-OBS TIME-OBS" when both are present, else the JWST observation
 * date, else MIN_DATE. Compared as strings, as the client compares them.
 */
export function exposureTime(header: Readonly<Record<string, string>>): string {
  for (const [date, time] of DATE_TIME_PAIRS) {
    if (header[date] !== undefined && header[time] !== undefined) return `${header[date]} ${header[time]}`;
  }
  return MIN_DATE;
}

/** matches.DATE_TIME_PAIRS (its one-key entries are strings, never found: left out). */
const DATE_TIME_PAIRS = [
  ['DATE-OBS', 'TIME-OBS'],
  ['META.OBSERVATION.DATE', 'META.OBSERVATION.TIME'],
  ['META_OBSERVATION_DATE', 'META_OBSERVATION_TIME'],
] as const;

/** Parameter names of an rmap's selector levels: parkey's tuples, in order. */
function parkeyLevels(rmap: ReferenceMapping): string[][] {
  const pk = rmap.header['parkey'];
  if (!pk || (pk.t !== 'tuple' && pk.t !== 'list')) return [];
  return pk.items.map((level) => (level.t === 'tuple' || level.t === 'list' ? level.items.map((k) => pyStr(k)) : [pyStr(level)]));
}

function leafNames(v: PyValue): string[] {
  if (v.t === 'str') return [v.v];
  if (v.t === 'tuple' || v.t === 'list') return v.items.flatMap(leafNames);
  return [];
}

/**
 * Selector.file_matches flattened to dicts (matches.find_match_paths_as_dict), each reduced to
 * its exposure time: the earliest over every path selecting one of `refs` in `rmap`.
 * Returns MAX_DATE when no path selects them.
 */
function earliestUseafter(rmap: ReferenceMapping, refs: ReadonlySet<string>): string {
  const levels = parkeyLevels(rmap);
  let earliest = MAX_DATE;
  const walk = (sel: PyValue, depth: number, path: Record<string, string>) => {
    if (sel.t !== 'call') return;
    const params = levels[depth] ?? [];
    for (const { key, value } of sel.arg.entries) {
      const here = { ...path };
      if (sel.name === 'UseAfter' || sel.name === 'VersionAfter' || sel.name === 'ClosestTime') {
        // A date key "YYYY-MM-DD HH:MM:SS" spreads over the level's parameters.
        const parts = pyStr(key).split(/\s+/);
        if (params.length >= 2) params.forEach((p, i) => (here[p] = parts[i] ?? ''));
        else if (params.length === 1) here[params[0]] = pyStr(key);
      } else {
        const values = key.t === 'tuple' ? key.items.map((k) => pyStr(k)) : [pyStr(key)];
        params.forEach((p, i) => (here[p] = values[i] ?? ''));
      }
      if (value.t === 'call') walk(value, depth + 1, here);
      else if (leafNames(value).some((n) => refs.has(n))) {
        const t = exposureTime(here);
        if (t < earliest) earliest = t;
      }
    }
  };
  walk(rmap.ast.selector as PyValue, 0, {});
  return earliest;
}

/** matches.get_minimum_exptime over an imap: the earliest exposure time of any path of `refs`. */
function minimumExposureTime(store: MappingStore, imapName: string, refs: string[]): string {
  const imap = store.load(imapName) as unknown as { normalKeys(): string[]; getRmap(k: string): ReferenceMapping };
  const wanted = new Set(refs);
  let earliest = MAX_DATE;
  let found = false;
  for (const kind of imap.normalKeys()) {
    const rmap = imap.getRmap(kind);
    if (!rmap.referenceNames().some((r) => wanted.has(r))) continue;
    const t = earliestUseafter(rmap, wanted);
    if (t !== MAX_DATE) found = true;
    if (t < earliest) earliest = t;
  }
  // A reference outside any path (never seen in real rules): every date may be affected.
  return found ? earliest : MIN_DATE;
}

/**
 * The affected instruments and types and the per-instrument datasets-since dates of a
 * transition (BestrefsScript.complex_init and auto_datasets_since).
 */
export function planTransition(store: MappingStore, load: MappingLoader, oldContext: string, newContext: string): TransitionPlan {
  const opts = { includeHeaderDiffs: true };
  const affected = affectedTypes(oldContext, newContext, load, opts);
  const diffs = removeBoring(mappingDifferences(oldContext, newContext, load, opts));
  // MappingDifferencer._find_diff_str: a difference under a mapping pair whose action says so.
  const found = (what: string) =>
    diffs.some((d) => d.tuple.some((step) => Array.isArray(step) && step.length === 2 && /\.[pir]map$/.test(step[0])) && diffAction(d).includes(what));
  const allDatesReason = found('header') ? 'rmap header changes' : found('delete') ? 'file deletions' : undefined;
  const since: Record<string, string> = {};
  if (allDatesReason) {
    for (const instrument of Object.keys(affected)) since[instrument] = MIN_DATE;
  } else {
    const oldPmap = store.loadContext(oldContext);
    const newPmap = store.loadContext(newContext);
    const auto: Record<string, string> = {};
    for (const instrument of oldPmap.normalKeys()) {
      const oldImap = oldPmap.getImap(instrument);
      const newImap = newPmap.getImap(instrument);
      const oldRefs = new Set(oldImap.referenceNames());
      const newRefs = new Set(newImap.referenceNames());
      const added = [...newRefs].filter((r) => !oldRefs.has(r));
      const deleted = [...oldRefs].filter((r) => !newRefs.has(r));
      let t = MAX_DATE;
      if (added.length) t = minimumExposureTime(store, newImap.name, added);
      if (deleted.length) {
        const d = minimumExposureTime(store, oldImap.name, deleted);
        if (d < t) t = d;
      }
      if (t !== MAX_DATE) auto[instrument] = t;
    }
    for (const instrument of Object.keys(affected)) since[instrument] = auto[instrument] ?? MIN_DATE;
  }
  return { oldContext, newContext, affected, since, allDatesReason };
}

/** One dataset's outcome: the types whose reference changes, and the errors the client logs. */
export interface DatasetComparison {
  instrument: string;
  updates: { filekind: string; old: string; new: string }[];
  /** A type failed under the new context: the dataset is not reported affected (the kill list). */
  killed: boolean;
  errors: string[];
}

/** bestrefs.cleanpath: drop a `iref$`-style prefix or directory from a reference name. */
function cleanpath(ref: string): string {
  return ref.replace(/^[A-Za-z0-9_]+\$/, '').replace(/^.*\//, '');
}

/**
 * Compares the best references of datasets under two contexts as BestrefsScript._process with
 * --affected-datasets does; keeps no per-dataset state, so batches can run anywhere.
 */
export class TransitionComparer {
  private readonly bad: ReadonlySet<string>;

  constructor(
    readonly oldPmap: PipelineContext,
    readonly newPmap: PipelineContext,
    readonly plan: TransitionPlan,
    /** Rejected or blacklisted files (lower-case): a new assignment to one is an error. */
    badFiles: Iterable<string> = [],
  ) {
    this.bad = new Set([...badFiles].map((f) => f.toLowerCase()));
  }

  /** Whether the client looks at this dataset at all (HeaderGenerator.__iter__'s date cut). */
  considers(instrument: string, header: Readonly<Record<string, string>>): boolean {
    const since = this.plan.since[instrument.toLowerCase()] ?? MIN_DATE;
    return exposureTime(header) >= since;
  }

  compare(datasetId: string, header: Readonly<Record<string, string>>): DatasetComparison {
    let instrument = '';
    const errors: string[] = [];
    try {
      instrument = this.newPmap.getInstrument(header).toLowerCase();
      const types = this.plan.affected[instrument];
      if (!types) throw new Error(`KeyError: '${instrument}'`);
      const newRefs = this.bestrefs(this.newPmap, header, types);
      const oldRefs = this.bestrefs(this.oldPmap, header, types);
      const kinds = [...new Set([...Object.keys(newRefs), ...Object.keys(oldRefs)])].sort();
      const updates: DatasetComparison['updates'] = [];
      let killed = false;
      const prefix = (kind: string) => `instrument='${instrument.toUpperCase()}' type='${kind.toUpperCase()}' data='${datasetId}' ::`;
      const check = (name: string, refs: Record<string, BestRef>, kind: string): [boolean, string] => {
        const raw = refs[kind];
        const org = cleanpath(Array.isArray(raw) ? `(${raw.map((r) => `'${r}'`).join(', ')})` : (raw ?? 'UNDEFINED')).trim();
        const ref = org.toUpperCase();
        if (ref.startsWith('NOT FOUND N/A')) return [true, 'N/A'];
        if (['NOT FOUND NO MATCH FOUND.', 'UNDEFINED', 'NONE', '', '*'].includes(ref)) {
          errors.push(`${prefix(kind)} ${name} No match found: '${org}'`);
          return [false, ref];
        }
        if (ref.startsWith('NOT FOUND')) {
          errors.push(`${prefix(kind)} ${name} Bestref FAILED: ${org.slice('NOT FOUND'.length)}`);
          return [false, ref];
        }
        return [true, ref];
      };
      for (const kind of kinds) {
        const [, oldRef] = check('Old:', oldRefs, kind);
        const [newOk, newRef] = check('New:', newRefs, kind);
        if (!newOk) {
          killed = true;
          continue;
        }
        if (newRef !== oldRef) {
          updates.push({ filekind: kind, old: oldRef, new: newRef });
          if (this.bad.has(newRef.toLowerCase())) {
            errors.push(`${prefix(kind)} File '${newRef.toLowerCase()}' is bad. Use is not recommended,  results may not be scientifically valid.`);
          }
        }
      }
      return { instrument, updates, killed, errors };
    } catch (exc) {
      errors.push(`Failed processing '${datasetId}' : ${(exc as Error).message}`);
      return { instrument, updates: [], killed: true, errors };
    }
  }

  /** Upper-cased type → result, for the affected types only (BestrefsScript.get_bestrefs). */
  private bestrefs(pmap: PipelineContext, header: Readonly<Record<string, string>>, types: string[]): Record<string, BestRef> {
    const refs = pmap.getBestReferences(header, types);
    const out: Record<string, BestRef> = {};
    for (const [k, v] of Object.entries(refs)) out[k.toLowerCase()] = v;
    return out;
  }
}

/** bestrefs.dataset_to_product_id: the first part of a compound id, lower case. */
export function productId(datasetId: string): string {
  return datasetId.split(':')[0].toLowerCase();
}
