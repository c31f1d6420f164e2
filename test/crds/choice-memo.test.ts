// The choice memo (crds/choice-memo.ts) gives exactly the plain engine's answers: generated
// datasets of the real HST rules, with awkward variants (dates before every reference,
// UNDEFINED and malformed dates, missing keywords, invalid values) mixed in, looked up under
// several real context pairs by a memoising store and a plain one; every best reference of
// every type, and every affected-datasets comparison, must be the same.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MappingStore, ReferenceMapping } from '../../crds';
import { planTransition, TransitionComparer } from '../../crds/affected';
import { generateDatasetHeaders, random } from '../../crds/dataset-generator';
import { MAPPINGS } from '../support/paths';

jest.setTimeout(90_000);

const PAIRS = [
  ['hst_0697.pmap', 'hst_0698.pmap'],
  ['hst_0698.pmap', 'hst_0705.pmap'],
  ['hst_0250.pmap', 'hst_0251.pmap'],
  ['hst_0251.pmap', 'hst_0264.pmap'],
] as const;

const load = (name: string) => fs.readFileSync(path.join(MAPPINGS, 'hst', path.basename(name)), 'utf8');

/** Generated headers of `context`, a few in ten bent so that lookups fail in every way. */
function datasets(store: MappingStore, context: string, count: number, seed: number): Record<string, string>[] {
  const rand = random(seed + 1000);
  const out: Record<string, string>[] = [];
  for (const header of generateDatasetHeaders(store, context, count, seed, { modesPerInstrument: 60 })) {
    const h = { ...header };
    const r = rand();
    const keys = Object.keys(h).filter((k) => k !== 'INSTRUME');
    const someKey = keys[Math.floor(rand() * keys.length)];
    if (r < 0.05) h['DATE-OBS'] = `19${70 + Math.floor(rand() * 20)}-0${1 + Math.floor(rand() * 9)}-1${Math.floor(rand() * 10)}`;
    else if (r < 0.07) h['DATE-OBS'] = 'UNDEFINED';
    else if (r < 0.08) h['TIME-OBS'] = 'not a time';
    else if (r < 0.1) delete h[someKey];
    else if (r < 0.12) h[someKey] = 'BOGUS';
    else if (r < 0.13) h[someKey] = 'N/A';
    out.push(h);
  }
  return out;
}

function memoHits(store: MappingStore, contexts: readonly string[]): number {
  let hits = 0;
  for (const c of contexts) {
    for (const name of store.loadContext(c).mappingNames()) {
      if (!name.endsWith('.rmap')) continue;
      const m = store.load(name);
      if (m instanceof ReferenceMapping) hits += m.memoStats()?.hits ?? 0;
    }
  }
  return hits;
}

describe.each(PAIRS)('%s -> %s', (oldContext, newContext) => {
  const plain = new MappingStore(MAPPINGS);
  const memo = new MappingStore(MAPPINGS, { memoizeChoices: true });
  // Datasets of both eras, so old and new rows are both met.
  const headers = [...datasets(plain, oldContext, 2000, 21), ...datasets(plain, newContext, 2000, 22)];

  test('every best reference of every type is the plain engine’s', () => {
    let compared = 0;
    for (const context of [oldContext, newContext]) {
      const a = plain.loadContext(context);
      const b = memo.loadContext(context);
      // Twice over a part, so that the second pass answers from the memo.
      for (const h of [...headers.slice(0, 1000), ...headers.slice(0, 1000)]) {
        let want: unknown;
        let got: unknown;
        try {
          want = a.getBestReferences(h);
        } catch (exc) {
          want = `throws ${(exc as Error).message}`;
        }
        try {
          got = b.getBestReferences(h);
        } catch (exc) {
          got = `throws ${(exc as Error).message}`;
        }
        expect(got).toEqual(want);
        compared++;
      }
    }
    expect(compared).toBe(4000);
  });

  test('every affected-datasets comparison is the plain engine’s', () => {
    const plan = planTransition(plain, load, oldContext, newContext);
    const a = new TransitionComparer(plain.loadContext(oldContext), plain.loadContext(newContext), plan);
    const b = new TransitionComparer(memo.loadContext(oldContext), memo.loadContext(newContext), plan);
    let affected = 0;
    let failed = 0;
    headers.forEach((h, i) => {
      const want = a.compare(`D${i}`, h);
      expect(b.compare(`D${i}`, h)).toEqual(want);
      if (want.updates.length) affected++;
      if (want.errors.length) failed++;
    });
    // The comparison is not vacuous: some datasets change, some fail, and the memo answered.
    expect(affected).toBeGreaterThan(0);
    expect(failed).toBeGreaterThan(0);
    expect(memoHits(memo, [oldContext, newContext])).toBeGreaterThan(headers.length);
  });
});
