// Differential test of the new context chain (crds/refactor.ts newContext, nextMappingName)
// against the real library's newcontext.new_context + update_header_names: same new names
// (highest serial + 1), same pmap/imap texts byte for byte.
import { nextMappingName, newContext, rmapInsertReferences } from '../../crds/refactor';
import { contextRmaps, listMappings, readMapping, runOracle } from './oracle';

interface NewContextCase {
  id: string;
  pmap: string;
  rmaps: Record<string, string>;
  updates: string[];
  name_series: string[];
}
type OracleOutcome =
  | { names: Record<string, string>; files: Record<string, string>; rmap_names: Record<string, string> }
  | { error: string };

/** A new version of `rmap` under its next serial name (rules unchanged: only names matter here). */
function newRmap(rmap: string): [string, string] {
  const name = nextMappingName(rmap, listMappings(rmap.split('_')[0]));
  return [name, rmapInsertReferences(readMapping(rmap), rmap, [], { newName: name }).text];
}

function makeCase(id: string, pmap: string, rmaps: string[], special: string[] = []): NewContextCase {
  const made = Object.fromEntries(rmaps.map(newRmap));
  return { id, pmap, rmaps: made, updates: [...Object.keys(made), ...special], name_series: rmaps };
}

// Series whose every file is numbered: the library's fake_name crashes on a series with a
// stray fixture name sorting last (e.g. hst_acs_darkfile_missing_key.rmap).
const numberedSeries = (rmap: string) => {
  const stem = rmap.replace(/_\d+\.rmap$/, '_');
  return listMappings(rmap.split('_')[0]).every((n) => !n.startsWith(stem) || /_\d+\.rmap$/.test(n));
};
const hst = contextRmaps('hst_0729.pmap').filter(numberedSeries);
const jwst = contextRmaps('jwst_0541.pmap').filter(numberedSeries);
const cases = [
  makeCase('hst one rmap', 'hst_0729.pmap', [hst.find((r) => r.startsWith('hst_acs_'))!]),
  makeCase('hst two instruments', 'hst_0729.pmap', [hst[3], hst[hst.length - 5]]),
  makeCase('hst type set N/A', 'hst_0729.pmap', [hst[10]], ['cos_flatfile_n/a']),
  makeCase('jwst one rmap', 'jwst_0541.pmap', [jwst[7]]),
  makeCase('jwst two of one instrument', 'jwst_0541.pmap', [jwst[20], jwst[21]]),
  makeCase('jwst older context', 'jwst_0400.pmap', [contextRmaps('jwst_0400.pmap').filter(numberedSeries)[50]]),
];

test('newContext derives the same pmap/imap chain as the real library', () => {
  const oracle = runOracle<{ results: Record<string, OracleOutcome> }>('new_contexts.py', { cases }).results;
  for (const c of cases) {
    const theirs = oracle[c.id];
    if ('error' in theirs) throw new Error(`${c.id}: real library failed: ${theirs.error}`);
    const existing = new Set([...listMappings(c.pmap.split('_')[0]), ...Object.keys(c.rmaps)]);
    const load = (name: string) => c.rmaps[name] ?? readMapping(name);
    const ours = newContext(c.pmap, c.updates, load, (old) => nextMappingName(old, existing));
    expect({ id: c.id, names: ours.names }).toEqual({ id: c.id, names: theirs.names });
    const files = Object.fromEntries(ours.files.map((f) => [f.name, f.text]));
    expect({ id: c.id, files }).toEqual({ id: c.id, files: theirs.files });
    // the next name of each rmap series once the new rmaps exist
    for (const [rmap, next] of Object.entries(theirs.rmap_names)) expect(nextMappingName(rmap, existing)).toBe(next);
    expect(Object.keys(theirs.rmap_names).length).toBe(c.name_series.length);
  }
}, 300_000);
