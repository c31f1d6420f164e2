// The archive's recorded best references (crds-testdata/hst/*.json: dataset header dumps
// with the references the archive assigned) against our engine, where the real `crds`
// library reproduces the recorded value.
//
// The recordings were made under various past contexts and some are deliberately altered
// by the real client's tests (canary.json's "FOO.FITS"), so a recorded value is only
// evidence where the real library, run now on the same header and rules, agrees with it.
// For those (dataset, context, type) triples our answer must equal the real library's
// exactly. The real answers are computed at test time (oracle/archive.py); nothing expected
// is stored in the repository.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { MappingStore } from '../../crds';
import { MAPPINGS, TESTDATA } from '../support/paths';
import { Bestrefs, Mismatch, classify, errorMessage, makeTempDir, readJsonl, requireRealCrds, runOracle, sameValue, summarize } from './harness';

jest.setTimeout(300_000);

interface ArchiveRecord {
  file: string;
  dataset: string;
  context: string;
  header: Record<string, string>;
  real: Bestrefs | null;
  error: string | null;
}

/** How `crds bestrefs` compares a computed value with an archive value (crds-rules §3.8). */
function normalize(v: string): string {
  let s = v.trim();
  if (/^NOT FOUND N\/A/i.test(s)) return 'N/A';
  if (s.includes('$')) s = s.slice(s.indexOf('$') + 1); // iref$x_drk.fits
  if (s.startsWith('crds://')) s = s.slice('crds://'.length);
  return s.toUpperCase();
}

describe('recorded archive best references', () => {
  const files = fs
    .readdirSync(path.join(TESTDATA, 'hst'))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => path.join(TESTDATA, 'hst', f));
  let records: ArchiveRecord[] = [];
  const tmp = makeTempDir('crds-archive-');
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  beforeAll(async () => {
    requireRealCrds();
    const out = path.join(tmp, 'archive.jsonl');
    await runOracle('archive.py', files, out);
    records = readJsonl<ArchiveRecord>(out);
  });

  test('our engine matches the recorded answers that the real library reproduces', () => {
    const store = new MappingStore(MAPPINGS);
    const mismatches: Mismatch[] = [];
    let compared = 0;
    let recordedTypes = 0;
    let disagreeing = 0; // real library != recording: not evidence, skipped
    let callsCompared = 0;
    for (const rec of records) {
      const ctx = store.loadContext(rec.context);
      let ours: Bestrefs | undefined;
      let ourError: string | undefined;
      try {
        ours = ctx.getBestReferences(rec.header) as unknown as Bestrefs;
      } catch (e) {
        ourError = errorMessage(e);
      }
      const base = {
        id: `${rec.file}:${rec.dataset}@${rec.context}`,
        context: rec.context,
        variant: 'archive',
        header: rec.header,
      };
      if (rec.error !== null || ourError !== undefined) {
        // e.g. test_cos_update.json has no INSTRUME: both must fail with the same message
        callsCompared++;
        if (rec.error !== (ourError ?? null)) {
          mismatches.push({
            ...base,
            rmap: `(${rec.context})`,
            reftype: '*',
            kind: 'call error',
            expected: rec.error ?? rec.real,
            got: ourError ?? ours,
          });
        }
        continue;
      }
      const real = rec.real ?? {};
      for (const [type, value] of Object.entries(real)) {
        const recorded = rec.header[type.toUpperCase()];
        if (recorded === undefined) continue;
        recordedTypes++;
        if (typeof value !== 'string' || normalize(value) !== normalize(recorded)) {
          disagreeing++;
          continue;
        }
        compared++;
        const mine = ours?.[type];
        if (!sameValue(value, mine)) {
          mismatches.push({
            ...base,
            rmap: type,
            reftype: type,
            kind: `${classify(value)} -> ${classify(mine)}`,
            expected: value,
            got: mine,
          });
        }
      }
    }
    const line =
      `archive: ${files.length} files, ${records.length} dataset x context lookups, ${recordedTypes} recorded ` +
      `answers, ${compared} reproduced by the real library and compared, ${disagreeing} skipped ` +
      `(real != recorded), ${callsCompared} whole-call failures compared; ${mismatches.length} mismatches`;
    console.log(line);
    expect(compared).toBeGreaterThanOrEqual(150);
    expect(callsCompared).toBeGreaterThanOrEqual(1);
    if (mismatches.length > 0) throw new Error(line + '\n' + summarize(mismatches, 'archive', 5));
  });
});
