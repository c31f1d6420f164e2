// Differential test: every reference, dataset and mapping file of the shared real test data,
// and the small synthetic edge cases of ./synthetic.ts (special validators, D constraints, FITS
// checksums and truncation, GEIS and ASDF variants, written to os.tmpdir()), is certified by
// our `crds/certify` and by the real `crds certify` (run now, by
// test/certify/oracle/certify.py; no stored answers). For each file the verdicts (errors or
// not) and the sets of findings — (level, keyword) or, for findings about no keyword, (level,
// category) — must agree, except where a rule below names the difference and says why.
//
// How the real command is run: one CertifyScript per file, offline, comparison context = the
// observatory's operational context (its default), type specs from ../shared/data/crds-specs
// (the oracle points the library at a temporary copy whose `*_ld.tpn` link files are symlinks
// again, as in the installed package; ours reads the shared folder and follows those files
// itself: both read the constraints of the real distribution), with --dont-recurse-mappings (each mapping is
// certified alone, as a submission certifies what was uploaded) and with its group check (a
// file that passes is trial-inserted into its rmap of the context, and the result certified;
// ours runs checkGroup the same way). Each file is certified in a fork of one warmed-up Python
// process per core (no per-file start-up or context loading, no state shared between files),
// the next file going to whichever process is free.
//
// The suite certifies a fixed sample of these files (fixedSample below); CRDS_CERTIFY_DIFF_ALL=1
// all of them (bench/certify-differential). CRDS_CERTIFY_DIFF_FILES=regex limits the files (for iteration); CRDS_CERTIFY_DIFF_VERBOSE=1
// lists every difference; CRDS_CERTIFY_DIFF_REUSE=FILE keeps the real tool's answers between
// iterations (opt-in; the test as run by CI always runs the real tool; delete FILE whenever
// what the real tool reads changes: oracle, specs, data).
import * as fs from 'node:fs';
import {
  certifiableFiles,
  fixedSample,
  oracleKeys,
  ourKeys,
  runOracle,
  runOurs,
  type OracleResult,
} from './compare';
import { syntheticFiles } from './synthetic';

interface Exception {
  reason: string;
  files?: RegExp;
  /** finding keys (level + keyword/category) that may appear on one side only */
  keys: RegExp;
  /** the pass/fail verdict may differ too (because the differing findings are errors) */
  verdict?: boolean;
  /** applies only when both sides fail the file with the same kind of error */
  bothFailWith?: RegExp;
}

const EXCEPTIONS: Exception[] = [
  {
    reason:
      'Python-library warnings re-logged by the real tool about its own Python packages (asdf: tags with no converter installed ' +
      '"is not recognized, converting to raw Python data structure", files made with other roman_datamodels package versions; ' +
      'stdatamodels ValidationWarning from validating JWST files against its data-model schemas): they describe which ' +
      'Python packages and schemas are installed beside the real tool, not CRDS rules. (The astropy ones about the file ' +
      'itself — CHECKSUM/DATASUM, truncation, TDISPn — and the data models\' NoTypeWarning about a missing model_type are ' +
      'reproduced: crds/io/fits-checks.ts, crds/certify/jwst.ts.)',
    keys: /^WARNING (AsdfConversionWarning|AsdfPackageVersionWarning|AsdfWarning|ValidationWarning|UserWarning|AsdfDeprecationWarning) /,
  },
];

/** CRDS_CERTIFY_DIFF_VERBOSE=1 lists every differing finding, explained or not (for iteration). */
const VERBOSE = !!process.env.CRDS_CERTIFY_DIFF_VERBOSE;
const ONLY = process.env.CRDS_CERTIFY_DIFF_FILES ? new RegExp(process.env.CRDS_CERTIFY_DIFF_FILES) : undefined;

describe('certify: differential against the real crds certify', () => {
  // the shared test data, plus small synthetic edge cases written to os.tmpdir() (./synthetic.ts)
  const all = [...certifiableFiles(), ...syntheticFiles()];
  const files = ONLY ? all.filter((f) => ONLY.test(f)) : process.env.CRDS_CERTIFY_DIFF_ALL ? all : fixedSample(all);
  let oracle: OracleResult[] = [];

  beforeAll(async () => {
    // CRDS_CERTIFY_DIFF_REUSE=FILE (iteration only): the real tool's answers are saved to FILE
    // on the first run and read back on the next ones (delete FILE after changing the oracle).
    const reuse = process.env.CRDS_CERTIFY_DIFF_REUSE;
    if (reuse && fs.existsSync(reuse)) {
      const saved = (JSON.parse(fs.readFileSync(reuse, 'utf8')) as OracleResult[]).filter((o) => files.includes(o.file));
      if (saved.length === files.length) {
        oracle = saved;
        return;
      }
    }
    oracle = await runOracle(files);
    if (reuse) fs.writeFileSync(reuse, JSON.stringify(oracle));
  }, 20 * 60 * 1000);

  it('certifies every file with the same verdict and findings, exceptions explained', () => {
    expect(oracle.map((o) => o.file).sort()).toEqual([...files].sort());
    const unexplained: string[] = [];
    const used = new Map<string, number>();
    const explained: string[] = [];
    let identical = 0;
    let ourSeconds = 0;
    let realSeconds = 0;
    for (const o of oracle) {
      const ours = runOurs(o.file);
      ourSeconds += ours.seconds;
      realSeconds += o.seconds;
      const real = oracleKeys(o);
      const mine = ourKeys(ours);
      const applicable = EXCEPTIONS.filter(
        (e) => (!e.files || e.files.test(o.file)) && (!e.bothFailWith || ([...real].some((k) => e.bothFailWith!.test(k)) && [...mine].some((k) => e.bothFailWith!.test(k)))),
      );
      const differing = [...[...real].filter((k) => !mine.has(k)).map((k) => `real only: ${k}`), ...[...mine].filter((k) => !real.has(k)).map((k) => `ours only: ${k}`)];
      const realFails = o.status !== 0;
      const oursFails = ours.errors > 0;
      if (!differing.length && realFails === oursFails) {
        identical++;
        continue;
      }
      for (const d of differing) {
        const key = d.replace(/^(real|ours) only: /, '');
        const e = applicable.find((x) => x.keys.test(key));
        if (e) used.set(e.reason, (used.get(e.reason) ?? 0) + 1);
        else unexplained.push(`${o.file}: ${d}`);
        if (VERBOSE) explained.push(`${e ? 'explained' : 'UNEXPLAINED'} ${o.file}: ${d}`);
      }
      if (realFails !== oursFails) {
        const e = applicable.find((x) => x.verdict && differing.some((d) => x.keys.test(d.replace(/^(real|ours) only: /, ''))));
        if (e) used.set(e.reason, (used.get(e.reason) ?? 0) + 1);
        else unexplained.push(`${o.file}: verdict real=${realFails ? 'FAIL' : 'pass'} ours=${oursFails ? 'FAIL' : 'pass'}`);
      }
    }
    process.stdout.write(
      `certify differential: ${oracle.length} files, ${identical} identical (verdict and findings); ` +
        `real ${realSeconds.toFixed(1)} s, ours ${ourSeconds.toFixed(1)} s\n` +
        [...used].map(([r, n]) => `  ${n} × ${r.slice(0, 110)}`).join('\n') +
        '\n',
    );
    if (VERBOSE) process.stdout.write(explained.join('\n') + '\n');
    expect(unexplained).toEqual([]);
  });
});
