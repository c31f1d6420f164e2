// What the rules say about files, for the browsing pages: which contexts use a file (the
// contexts whose closure, pmap → imaps → rmaps → references, holds it), an rmap's rows, and a
// context's table of instruments × types. CRDS names are immutable, so everything derived
// from a mapping is kept for the process's life; a new context only adds its own links.
import { isSpecialValue, MappingStore, pyStr, type PipelineContext, type PyCall, type PyValue, type ReferenceMapping } from '../../crds';
import type { RawEntry, Selector, Terminal } from '../../crds/selectors';
import type { RulesCache } from '../catalog-view';

/** One selection of an rmap: the key at each selector level (outermost first) and its choice. */
export interface RmapRow {
  /** e.g. [["ACS", "WFC", "F555W"], ["2002-03-01 00:00:00"]] */
  keys: string[][];
  /** the parameters of each level, e.g. [["DETECTOR", "CCDAMP"], ["DATE-OBS", "TIME-OBS"]] */
  parameters: string[][];
  /** the reference (or N/A, OMIT) chosen; several for a tuple choice */
  choice: string[];
}

export interface ContextTableRow {
  instrument: string;
  imap: string;
  filekind: string;
  /** the rmap in force, or N/A / OMIT */
  rmap: string;
  /** references the rmap selects (N/A and OMIT not counted) */
  references: number;
}

const isSelector = (v: Selector | Terminal): v is Selector => typeof v === 'object' && v !== null && 'rawEntries' in v;

function terminals(t: Terminal): string[] {
  if (typeof t === 'string') return [t];
  if (Array.isArray(t)) return t.flatMap(terminals);
  return Object.values(t).flatMap(terminals);
}

function keyStrings(key: PyValue): string[] {
  return key.t === 'tuple' ? key.items.map((k) => pyStr(k)) : [pyStr(key)];
}

/** The rows of an rmap's selector tree, flattened, in the order written. */
export function rmapRows(rmap: ReferenceMapping): RmapRow[] {
  const out: RmapRow[] = [];
  const walk = (entries: readonly RawEntry[], parameters: readonly string[], keys: string[][], params: string[][]) => {
    for (const e of entries) {
      const k = [...keys, keyStrings(e.key)];
      const p = [...params, [...parameters]];
      if (isSelector(e.value)) walk(e.value.rawEntries, e.value.parameters, k, p);
      else out.push({ keys: k, parameters: p, choice: terminals(e.value) });
    }
  };
  const top = rmap.selector;
  walk(top.rawEntries, top.parameters, [], []);
  return out;
}

/**
 * The references an rmap names, read from its syntax tree: the terminal strings under its
 * selectors, N/A and OMIT left out, sorted. The same names as ReferenceMapping.referenceNames()
 * (the tests check it) without building the selectors and their matchers, which indexing
 * every context of a site would otherwise do for every rmap.
 */
export function astReferenceNames(selector: PyValue | PyCall): string[] {
  const out = new Set<string>();
  const terminal = (v: PyValue | PyCall): void => {
    if (v.t === 'call') v.arg.entries.forEach((e) => terminal(e.value));
    else if (v.t === 'str') out.add(v.v);
    else if (v.t === 'tuple' || v.t === 'list') v.items.forEach(terminal);
    else if (v.t === 'dict') v.entries.forEach((e) => terminal(e.value));
  };
  if (selector.t === 'call') terminal(selector);
  else if (selector.t === 'dict') selector.entries.forEach((e) => terminal(e.value));
  return [...out].filter((n) => !isSpecialValue(n)).sort();
}

export class RulesIndex {
  /** rmap → its references; imap → its rmaps; pmap → its imaps (names only) */
  private readonly children = new Map<string, string[]>();
  /** child name → the mappings naming it */
  private readonly parents = new Map<string, Set<string>>();
  private readonly indexed = new Set<string>();
  private readonly tables = new Map<string, ContextTableRow[]>();
  private building?: Promise<void>;
  /**
   * A store of its own for reading names: what it parses is dropped after each context, so
   * indexing every context of a site does not keep every mapping's parse (on the real HST
   * site ~600 MB of heap, whose collections then stole a fifth of the web's CPU).
   */
  private readonly scratch: MappingStore;

  constructor(private readonly rules: RulesCache) {
    this.scratch = new MappingStore(rules.store.mappingsDir, { ignoreChecksum: rules.store.ignoreChecksum });
  }

  /** The names a mapping names directly (rmaps: references, without N/A and OMIT). */
  childrenOf(name: string): string[] {
    let kids = this.children.get(name);
    if (!kids) {
      const m = name.endsWith('.pmap') ? this.scratch.loadContext(name) : this.scratch.load(name);
      kids = m.kind === 'rmap' ? astReferenceNames(m.ast.selector) : [...m.selections.values()].filter((v) => !isSpecialValue(v));
      this.children.set(name, kids);
    }
    return kids;
  }

  private indexMapping(name: string): void {
    if (this.indexed.has(name)) return;
    for (const child of this.childrenOf(name)) {
      let set = this.parents.get(child);
      if (!set) this.parents.set(child, (set = new Set()));
      set.add(name);
      if (!child.endsWith('.fits') && /\.[ir]map$/.test(child)) this.indexMapping(child);
    }
    this.indexed.add(name);
  }

  /**
   * Indexes the given contexts (those not seen yet), yielding to other requests between
   * contexts; concurrent callers share one build. Contexts whose rules cannot be loaded are
   * skipped (their files are simply not listed as used by them).
   */
  async ensure(contexts: readonly string[]): Promise<void> {
    while (this.building) await this.building;
    const missing = contexts.filter((c) => !this.indexed.has(c));
    if (!missing.length) return;
    this.building = (async () => {
      for (const pmap of missing) {
        try {
          this.indexMapping(pmap);
        } catch {
          this.indexed.add(pmap);
        }
        this.scratch.clear();
        await new Promise((resolve) => setImmediate(resolve));
      }
    })().finally(() => (this.building = undefined));
    await this.building;
  }

  /** The contexts (of those indexed) whose closure holds `name`, sorted by name. */
  contextsUsing(name: string): string[] {
    const out = new Set<string>();
    const seen = new Set<string>();
    const up = (n: string) => {
      if (seen.has(n)) return;
      seen.add(n);
      if (n.endsWith('.pmap')) {
        if (this.indexed.has(n)) out.add(n);
        return;
      }
      for (const p of this.parents.get(n) ?? []) up(p);
    };
    up(name);
    return [...out].sort();
  }

  /** The rmaps (of those indexed) that select `reference`. */
  rmapsSelecting(reference: string): string[] {
    return [...(this.parents.get(reference) ?? [])].filter((n) => n.endsWith('.rmap')).sort();
  }

  /** Instruments × types of a context: the rmap in force and how many references it selects. */
  contextTable(pmapName: string): ContextTableRow[] {
    let table = this.tables.get(pmapName);
    if (table) return table;
    const pmap: PipelineContext = this.rules.context(pmapName);
    table = [];
    for (const instrument of pmap.instruments().sort()) {
      const imapName = pmap.selections.get(instrument) ?? '';
      if (isSpecialValue(imapName)) continue;
      const imap = pmap.getImap(instrument);
      for (const filekind of imap.filekinds().sort()) {
        const rmap = imap.selections.get(filekind) ?? '';
        const references = rmap && !isSpecialValue(rmap) ? this.childrenOf(rmap).length : 0;
        table.push({ instrument, imap: imapName, filekind, rmap, references });
      }
    }
    this.tables.set(pmapName, table);
    return table;
  }
}
