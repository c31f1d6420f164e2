// Differential tests of rules generation (crds/refactor.ts) against the real `crds` library:
// the same insert / replace / delete operations on real rmaps (chosen deterministically from
// the current HST and JWST contexts) must give byte-identical rmap text, or fail in both.
// The library runs at test time (test/refactor/oracle/refactor_rmaps.py).
import type { PyCall, PyValue } from '../../crds/ast';
import { parseMapping, pyStr, pyToJs } from '../../crds/parser';
import { rmapDeleteReferences, rmapInsertReferences, type WildcardExpansions } from '../../crds/refactor';
import { dictEntries, sortSelections } from '../../crds/serialize';
import { contextRmaps, readMapping, runOracle } from './oracle';

interface Insert {
  basename: string;
  header: Record<string, string>;
}
interface Case {
  id: string;
  rmap: string;
  inserts: Insert[];
  deletes: string[];
  new_name: string;
}
type Outcome = { text: string } | { error: string };

/** A reference header value for a Match key element: or-tuples become `A|B`. */
function headerValue(v: PyValue): string {
  return v.t === 'tuple' ? v.items.map(pyStr).join('|') : pyStr(v);
}

interface Row {
  key: PyValue;
  dates: { date: string; file: string }[];
}

function rowsOf(text: string): { params: string[]; rows: Row[]; header: Record<string, unknown> } | undefined {
  const ast = parseMapping(text);
  const header = pyToJs(ast.header) as Record<string, unknown>;
  const classes = (header.classes as string[] | undefined) ?? ['Match', 'UseAfter'];
  if (ast.selector.t !== 'call' || classes.join() !== 'Match,UseAfter') return undefined;
  const params = (header.parkey as string[][])[0];
  const rows: Row[] = [];
  for (const e of sortSelections(dictEntries(ast.selector.arg))) {
    if (e.value.t !== 'call') continue;
    const dates = sortSelections(dictEntries((e.value as PyCall).arg))
      .filter((u) => u.value.t === 'str' && u.key.t === 'str')
      .map((u) => ({ date: (u.key as { v: string }).v, file: (u.value as { v: string }).v }));
    if (dates.length) rows.push({ key: e.key, dates });
  }
  return rows.length ? { params, rows, header } : undefined;
}

function keyValues(params: string[], key: PyValue): Record<string, string> {
  const items = key.t === 'tuple' ? key.items : [key];
  const out: Record<string, string> = {};
  params.forEach((p, i) => (out[p] = headerValue(items[i])));
  return out;
}

/** ISO date with a T separator, one of the forms reference files use for USEAFTER. */
function isoT(date: string): string {
  return date.replace(' ', 'T');
}

function casesFor(rmap: string, n: number): Case[] {
  const parsed = rowsOf(readMapping(rmap));
  if (!parsed) return [];
  const { params, rows, header } = parsed;
  const jwst = rmap.startsWith('jwst');
  const newName = rmap.replace(/_\d+\.rmap$/, '_9999.rmap');
  const useafterKey = jwst && n % 2 === 0 ? 'META.USEAFTER' : 'USEAFTER';
  const ref = (tag: string) => `${rmap.replace('.rmap', '')}_${tag}.fits`;
  const mid = rows[Math.floor(rows.length / 2)];
  const third = rows[Math.floor(rows.length / 3)];
  const midDate = mid.dates[Math.floor(mid.dates.length / 2)];
  const out: Case[] = [];
  const base = { rmap, deletes: [] as string[], new_name: newName };

  // 1. same match and USEAFTER as an existing entry: replacement
  // Real reference files always name their instrument (JWST cross-strapping depends on it).
  const instrument = String(header.instrument);
  const instrumentKw = jwst ? (n % 2 ? 'META.INSTRUMENT.NAME' : 'INSTRUME') : 'INSTRUME';
  const withInstrument = (h: Record<string, string>) => ({ [instrumentKw]: instrument, ...h });
  const replace: Insert = {
    basename: ref('replace'),
    header: withInstrument({ ...keyValues(params, mid.key), [useafterKey]: isoT(midDate.date) }),
  };
  out.push({ ...base, id: `${rmap}:replace`, inserts: [replace] });

  // 2. new USEAFTER in an existing match row (alphabetical date form)
  const later: Insert = {
    basename: ref('later'),
    header: withInstrument({ ...keyValues(params, third.key), [useafterKey]: 'Mar 15 2031 08:30:00' }),
  };
  // JWST: give the reference-file keywords of reference_to_dataset instead of data-model paths
  const r2d = header.reference_to_dataset as Record<string, string> | undefined;
  if (jwst && r2d && n % 3 === 0) {
    for (const [refKey, dmKey] of Object.entries(r2d)) {
      if (dmKey in later.header) {
        later.header[refKey] = later.header[dmKey];
        delete later.header[dmKey];
      }
    }
  }
  out.push({ ...base, id: `${rmap}:later`, inserts: [later] });

  // 3. a new match row: values of the first row with the last parameter of the last row
  const first = keyValues(params, rows[0].key);
  const last = keyValues(params, rows[rows.length - 1].key);
  const lastParam = params[params.length - 1];
  const mixed: Insert = {
    basename: ref('newrow'),
    header: withInstrument({ ...first, [lastParam]: last[lastParam], [useafterKey]: '2024-02-29 23:59:59' }),
  };
  out.push({ ...base, id: `${rmap}:newrow`, inserts: [mixed] });

  // 4. several references in one update
  out.push({ ...base, id: `${rmap}:multi`, inserts: [replace, later, mixed] });

  // 5. delete an existing reference; and one whose row holds only it (the row disappears)
  out.push({ ...base, id: `${rmap}:delete`, inserts: [], deletes: [midDate.file] });
  const lonely = rows.find((r) => r.dates.length === 1 && rows.filter((o) => o.dates.some((d) => d.file === r.dates[0].file)).length === 1);
  if (lonely) out.push({ ...base, id: `${rmap}:delete-row`, inserts: [], deletes: [lonely.dates[0].file] });
  return out;
}

/** Every k-th rmap of a sorted list, plus all those with the given header fields. */
function pick(rmaps: string[], every: number, alsoWith: string[], max: number): string[] {
  const chosen = new Set(rmaps.filter((_, i) => i % every === 0));
  for (const r of rmaps) {
    if (chosen.size >= max) break;
    const text = readMapping(r);
    if (alsoWith.some((f) => text.includes(`'${f}'`))) chosen.add(r);
  }
  return [...chosen].sort();
}

const hstRmaps = pick(contextRmaps('hst_0729.pmap'), 9, ['parkey_relevance', 'extra_keys'], 24);
const jwstRmaps = pick(contextRmaps('jwst_0541.pmap'), 9, ['substitutions', 'reference_to_dataset'], 24);
const cases = [...hstRmaps, ...jwstRmaps].flatMap((r, n) => casesFor(r, n));

/** First differing line, or the outcomes when one side failed. */
function describeMismatch(ours: Outcome, theirs: Outcome): string {
  if ('text' in ours && 'text' in theirs) {
    const a = ours.text.split('\n');
    const b = theirs.text.split('\n');
    const i = a.findIndex((line, k) => line !== b[k]);
    return `line ${i + 1}: ours ${JSON.stringify(a[i])} real ${JSON.stringify(b[i])}`;
  }
  const brief = (o: Outcome) => ('text' in o ? 'wrote an rmap' : o.error.slice(0, 400));
  return `ours: ${brief(ours)} | real: ${brief(theirs)}`;
}

describe('rules generation matches the real crds library', () => {
  let oracle: { results: Record<string, Outcome>; seconds: number };
  let expansions: WildcardExpansions;
  let validValues: Record<string, Record<string, string[]>>;

  beforeAll(() => {
    expansions = runOracle<WildcardExpansions>('wildcard_expansions.py', { observatory: 'hst' });
    validValues = runOracle('valid_values.py', { rmaps: [...hstRmaps, ...jwstRmaps] });
    oracle = runOracle('refactor_rmaps.py', { cases });
  }, 600_000);

  test('the case set is large and varied enough', () => {
    expect(cases.length).toBeGreaterThanOrEqual(50);
    expect(cases.filter((c) => c.rmap.startsWith('jwst')).length).toBeGreaterThanOrEqual(20);
    expect(cases.filter((c) => c.deletes.length).length).toBeGreaterThanOrEqual(10);
    expect(Object.keys(expansions)).toContain('acs');
    // most cases succeed in the real library (failures must be matched, but are not the point)
    const ok = Object.values(oracle.results).filter((r) => 'text' in r).length;
    expect(ok).toBeGreaterThan(cases.length * 0.8);
  });

  test('every operation gives byte-identical rmap text (or fails in both)', () => {
    const mismatches: string[] = [];
    let identical = 0;
    let bothFailed = 0;
    const started = process.hrtime.bigint();
    for (const c of cases) {
      let ours: Outcome;
      try {
        const text = readMapping(c.rmap);
        ours = c.deletes.length
          ? { text: rmapDeleteReferences(text, c.rmap, c.deletes, { newName: c.new_name }) }
          : {
              text: rmapInsertReferences(text, c.rmap, c.inserts, {
                newName: c.new_name,
                wildcardExpansions: c.rmap.startsWith('hst') ? expansions : undefined,
                validValues: validValues[c.rmap],
              }).text,
            };
      } catch (err) {
        ours = { error: `${(err as Error).constructor.name}: ${(err as Error).message}` };
      }
      const theirs = oracle.results[c.id];
      if ('text' in theirs && 'text' in ours && theirs.text === ours.text) identical++;
      else if ('error' in theirs && 'error' in ours) bothFailed++;
      else mismatches.push(`${c.id}: ${describeMismatch(ours, theirs)}`);
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    console.log(
      `refactor: ${cases.length} cases on ${hstRmaps.length} HST + ${jwstRmaps.length} JWST rmaps: ` +
        `${identical} byte-identical, ${bothFailed} failed in both; ours ${ms.toFixed(0)} ms, ` +
        `real library ${(oracle.seconds * 1000).toFixed(0)} ms`,
    );
    expect(mismatches).toEqual([]);
  });
});
