// Differential tests of context differences (crds/diff.ts) against the real `crds` library:
// consecutive real contexts (hst_NNNN.pmap → next, jwst_NNNN.pmap → next), chosen evenly
// over the history, must give the same difference tuples (same order, messages, parameter
// names, instrument/type) and the same affected (instrument, type) pairs.
import { affectedTypes, mappingDifferences } from '../../crds/diff';
import { listMappings, readMapping, runOracle } from './oracle';

interface OracleDiff {
  diff: unknown[];
  parameter_names: unknown[];
  instrument: string | null;
  filekind: string | null;
}
interface OracleResult {
  results: Record<string, { diffs: OracleDiff[]; affected: Record<string, string[]> }>;
  seconds: number;
}

/** `count` pairs of consecutive numbered contexts spread evenly over the history. */
function consecutivePairs(observatory: string, count: number): [string, string][] {
  // The first HST contexts name their imaps by relative paths ('data/...'), which even the
  // real library cannot load from a cache; the history is sampled after them.
  const pmaps = listMappings(observatory).filter(
    (n) => new RegExp(`^${observatory}_\\d{4}\\.pmap$`).test(n) && !/'[^']*\/[^']*\.imap'/.test(readMapping(n)),
  );
  const pairs: [string, string][] = [];
  for (let k = 0; k < count; k++) {
    const i = Math.floor(((pmaps.length - 2) * k) / (count - 1));
    pairs.push([pmaps[i], pmaps[i + 1]]);
  }
  return pairs;
}

const pairs = [...consecutivePairs('hst', 14), ...consecutivePairs('jwst', 14)];

function ours(options: { includeHeaderDiffs?: boolean; recurseAddedDeleted?: boolean }) {
  const started = process.hrtime.bigint();
  const results = new Map<string, { diffs: OracleDiff[]; affected: Record<string, string[]> }>();
  for (const [a, b] of pairs) {
    const diffs = mappingDifferences(a, b, readMapping, options).map((d) => ({
      diff: d.tuple,
      parameter_names: d.parameterNames,
      instrument: d.instrument ?? null,
      filekind: d.filekind ?? null,
    }));
    results.set(`${a} ${b}`, { diffs, affected: affectedTypes(a, b, readMapping, options) });
  }
  return { results, ms: Number(process.hrtime.bigint() - started) / 1e6 };
}

describe.each([
  ['default options', {}, {}],
  [
    'with header diffs and nested adds/deletes',
    { include_header_diffs: true, recurse_added_deleted: true },
    { includeHeaderDiffs: true, recurseAddedDeleted: true },
  ],
])('context differences match the real crds library (%s)', (_label, oracleOptions, options) => {
  let oracle: OracleResult;
  beforeAll(() => {
    oracle = runOracle<OracleResult>('context_diffs.py', { pairs, ...oracleOptions });
  }, 600_000);

  test('pairs are consecutive real contexts of both observatories, with real changes', () => {
    expect(pairs.length).toBeGreaterThanOrEqual(20);
    expect(pairs.filter(([a]) => a.startsWith('jwst')).length).toBeGreaterThanOrEqual(10);
    const withDiffs = Object.values(oracle.results).filter((r) => r.diffs.length > 0).length;
    expect(withDiffs).toBeGreaterThanOrEqual(20);
  });

  test('identical differences and affected types for every pair', () => {
    const mine = ours(options);
    let diffCount = 0;
    for (const [a, b] of pairs) {
      const key = `${a} ${b}`;
      const theirs = oracle.results[key];
      const got = mine.results.get(key)!;
      expect({ pair: key, diffs: got.diffs }).toEqual({ pair: key, diffs: theirs.diffs });
      expect({ pair: key, affected: got.affected }).toEqual({ pair: key, affected: theirs.affected });
      diffCount += theirs.diffs.length;
    }
    console.log(
      `diff (${_label}): ${pairs.length} context pairs, ${diffCount} differences identical; ` +
        `ours ${mine.ms.toFixed(0)} ms, real library ${(oracle.seconds * 1000).toFixed(0)} ms (diffs + affected)`,
    );
  });
});
