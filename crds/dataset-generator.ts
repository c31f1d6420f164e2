// Synthetic archive datasets for an instrument's rules: each carries a value for every
// matching keyword its instrument's rmaps use (so every type can be looked up, as for a real
// exposure) and an observation date within the instrument's life. A dataset starts from one
// Match row of one rmap (a "mode"); every other rmap then contributes a row compatible with
// the values chosen so far (or, when none is found in a few tries, only its missing keys).
// Modes are drawn once per instrument into a pool and reused, as real exposures share modes.
import type { PyValue } from './ast';
import { matcher } from './matchers';
import { conditionValue } from './conditioning';
import { pyStr } from './parser';
import { ReferenceMapping, type MappingStore } from './mappings';

/** A small deterministic generator (mulberry32), so the same seed gives the same datasets. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One concrete header value for a Match pattern; undefined for N/A (leave the key out). */
export function concrete(pattern: string): string | undefined {
  if (pattern === 'N/A') return undefined;
  if (pattern === '*') return 'ANY';
  const first = pattern.split('|')[0];
  const between = /^BETWEEN\s+(\S+)\s+(\S+)/.exec(first);
  if (between) return String((Number(between[1]) + Number(between[2])) / 2);
  const range = /^#([<>]=?)?\s*(-?[\d.]+)/.exec(first);
  if (range) return range[2];
  return first.replace(/^#|#$/g, '');
}

interface RmapRows {
  matchKeys: string[];
  dateKeys: string[];
  rows: { values: string[]; firstUseafter: number }[];
}

interface InstrumentRules {
  instrument: string;
  rmaps: RmapRows[];
  /** Observation dates span [start, end] (ms). */
  start: number;
  end: number;
}

const DAY = 86_400_000;

function useafterMs(s: string): number {
  const [date, time = '00:00:00'] = s.split(' ');
  return Date.parse(`${date}T${time.slice(0, 8)}Z`);
}

function rmapRows(rmap: ReferenceMapping): RmapRows | undefined {
  const sel = rmap.ast.selector;
  const parkey = rmap.header['parkey'];
  if (sel.t !== 'call' || sel.name !== 'Match' || !sel.arg.entries.length) return undefined;
  if (!parkey || parkey.t !== 'tuple' || parkey.items[0]?.t !== 'tuple') return undefined;
  const matchKeys = parkey.items[0].items.map((k) => pyStr(k));
  const dateKeys = parkey.items[1]?.t === 'tuple' ? parkey.items[1].items.map((k) => pyStr(k)) : [];
  const rows = sel.arg.entries.map(({ key, value }) => {
    const values = (key.t === 'tuple' ? key.items : [key]).map((v: PyValue) => pyStr(v));
    let firstUseafter = NaN;
    if (value.t === 'call' && value.name === 'UseAfter') {
      for (const e of value.arg.entries) {
        const t = useafterMs(pyStr(e.key));
        if (!Number.isNaN(t) && !(t >= firstUseafter)) firstUseafter = t;
      }
    }
    return { values, firstUseafter };
  });
  return { matchKeys, dateKeys, rows };
}

/** The rules of every instrument of a context, ready to generate from. */
export function instrumentRules(store: MappingStore, context: string): InstrumentRules[] {
  const pmap = store.loadContext(context);
  const out: InstrumentRules[] = [];
  for (const instrument of pmap.instruments()) {
    const imap = pmap.getImap(instrument);
    const rmaps: RmapRows[] = [];
    for (const kind of imap.normalKeys()) {
      let rmap: ReferenceMapping;
      try {
        rmap = imap.getRmap(kind);
      } catch {
        continue;
      }
      if (!(rmap instanceof ReferenceMapping)) continue;
      const rows = rmapRows(rmap);
      if (rows) rmaps.push(rows);
    }
    const dates = rmaps.flatMap((r) => r.rows.map((row) => row.firstUseafter)).filter((t) => t > Date.UTC(1980, 0, 1) && t < Date.UTC(2100, 0, 1));
    if (!rmaps.length || !dates.length) continue;
    const start = Math.min(...dates);
    // The instrument keeps observing a while after its last reference.
    const end = Math.max(...dates) + 365 * DAY;
    out.push({ instrument, rmaps, start, end });
  }
  return out;
}

function fits(pattern: string, value: string): boolean {
  if (pattern === 'N/A' || pattern === '*') return true;
  try {
    return matcher(pattern).match(conditionValue(value)) >= 0;
  } catch {
    return false;
  }
}

/** One mode of an instrument: values of every matching keyword, and the earliest date its first row applies. */
function drawMode(rules: InstrumentRules, instrumentKey: string, rand: () => number): { header: Record<string, string>; after: number } {
  const header: Record<string, string> = { [instrumentKey]: rules.instrument.toUpperCase() };
  const order = rules.rmaps.map((r, i) => [rand(), i] as const).sort((a, b) => a[0] - b[0]).map(([, i]) => rules.rmaps[i]);
  let after = rules.start;
  order.forEach((rmap, n) => {
    let row = rmap.rows[Math.floor(rand() * rmap.rows.length)];
    if (n > 0) {
      // A row agreeing with the values chosen so far, starting at a random one.
      const first = Math.floor(rand() * rmap.rows.length);
      for (let j = 0; j < Math.min(rmap.rows.length, 200); j++) {
        const candidate = rmap.rows[(first + j) % rmap.rows.length];
        if (rmap.matchKeys.every((k, i) => header[k] === undefined || fits(candidate.values[i] ?? 'N/A', header[k]))) {
          row = candidate;
          break;
        }
      }
    }
    // Observed once every chosen row has a reference in force.
    if (row.firstUseafter > after) after = row.firstUseafter;
    rmap.matchKeys.forEach((k, i) => {
      if (header[k] !== undefined) return;
      const v = concrete(row.values[i] ?? 'N/A');
      if (v !== undefined) header[k] = v;
    });
  });
  return { header, after: Math.min(after, rules.end - DAY) };
}

export interface GeneratorOptions {
  /** Modes drawn per instrument (default 400). */
  modesPerInstrument?: number;
}

/**
 * `count` dataset headers from `context`'s rules, instruments in turn at random, each a mode
 * of its instrument with an observation date (DATE-OBS, TIME-OBS) uniform between the mode's
 * earliest UseAfter and the end of the instrument's life.
 */
export function* generateDatasetHeaders(store: MappingStore, context: string, count: number, seed: number, opts: GeneratorOptions = {}): Generator<Record<string, string>> {
  const pmap = store.loadContext(context);
  const rules = instrumentRules(store, context);
  if (!rules.length) return;
  const rand = random(seed);
  const poolSize = opts.modesPerInstrument ?? 400;
  const pools = rules.map(() => [] as { header: Record<string, string>; after: number }[]);
  for (let n = 0; n < count; n++) {
    const i = Math.floor(rand() * rules.length);
    const pool = pools[i];
    const mode = pool.length < poolSize ? (pool[pool.length] = drawMode(rules[i], pmap.instrumentKey, rand)) : pool[Math.floor(rand() * pool.length)];
    const t = new Date(mode.after + DAY + rand() * Math.max(0, rules[i].end - mode.after - DAY));
    const iso = t.toISOString();
    yield { ...mode.header, 'DATE-OBS': iso.slice(0, 10), 'TIME-OBS': iso.slice(11, 19) };
  }
}

/** The first letter of HST dataset ids per instrument (the archive's naming), else the name's own. */
const ID_LETTERS: Record<string, string> = { acs: 'J', wfc3: 'I', cos: 'L', stis: 'O', nicmos: 'N', wfpc2: 'U', fos: 'Y', hrs: 'Z', foc: 'X', wfpc: 'W' };

/** An archive-like compound id (PRODUCT:EXPOSURE, unassociated) from a site-wide serial. */
export function datasetId(instrument: string, serial: number): string {
  const letter = ID_LETTERS[instrument.toLowerCase()] ?? instrument.slice(0, 1).toUpperCase();
  const product = `${letter}${serial.toString(36).toUpperCase().padStart(7, '0')}Q`;
  return `${product}:${product}`;
}
