// Differential test on damaged and unusual files (issue 13 item 16): variants of real
// references and mappings made at test time by ./damaged.ts (a last HDU cut short or followed
// by stray bytes, a header without END, a cut science header, a cut ASDF tree, USEAFTER in
// other forms, a mapping under another instrument's name) are certified by our
// `crds/certify` and by the real `crds certify` (run now, as in ./differential.test.ts: one
// warmed-up process per core forking per file, offline, operational contexts, group check).
// For each class, every file's verdict and set of findings must agree, except where a rule
// below names the difference and says why. The suite runs a fixed sample of the variants
// (./damaged.ts SAMPLE); CRDS_CERTIFY_DIFF_ALL=1 (bench/certify-differential) runs them all.
import * as fs from 'node:fs';
import { oracleKeys, ourKeys, runOracle, runOurs, type OracleResult } from './compare';
import { damagedFiles, type DamageKind, type DamagedFile } from './damaged';

interface Exception {
  reason: string;
  files?: RegExp;
  /** finding keys (level + keyword/category) that may appear on one side only */
  keys: RegExp;
}

const EXCEPTIONS: Exception[] = [
  {
    reason:
      'Python-library warnings about the installed Python packages (asdf converters and package versions, ' +
      'stdatamodels schema ValidationWarning): not CRDS rules (as in differential.test.ts)',
    keys: /^WARNING (AsdfConversionWarning|AsdfPackageVersionWarning|AsdfWarning|ValidationWarning|UserWarning|AsdfDeprecationWarning) /,
  },
];

const VERBOSE = !!process.env.CRDS_CERTIFY_DIFF_VERBOSE;

describe('certify: damaged and unusual files against the real crds certify', () => {
  // the suite: a fixed sample of a few variants per class; CRDS_CERTIFY_DIFF_ALL=1 all of them
  const damaged: DamagedFile[] = damagedFiles().filter((d) => d.sample || process.env.CRDS_CERTIFY_DIFF_ALL);
  let oracle = new Map<string, OracleResult>();

  beforeAll(async () => {
    // CRDS_CERTIFY_DIFF_REUSE=FILE (iteration only, as in differential.test.ts): the real tool's
    // answers are saved to FILE and read back while every file still has one
    const reuse = process.env.CRDS_CERTIFY_DIFF_REUSE;
    if (reuse && fs.existsSync(reuse)) {
      const saved = new Map((JSON.parse(fs.readFileSync(reuse, 'utf8')) as OracleResult[]).map((r) => [r.file, r]));
      if (damaged.every((d) => saved.has(d.file))) {
        oracle = saved;
        return;
      }
    }
    const results = await runOracle(damaged.map((d) => d.file));
    oracle = new Map(results.map((r) => [r.file, r]));
    if (reuse) fs.writeFileSync(reuse, JSON.stringify(results));
  }, 10 * 60 * 1000);

  /** The unexplained differences of one file ([] when it matches). */
  function differences(d: DamagedFile): string[] {
    const o = oracle.get(d.file);
    if (!o) return [`${d.file}: no answer from the real tool`];
    const ours = runOurs(d.file);
    const real = oracleKeys(o);
    const mine = ourKeys(ours);
    const out: string[] = [];
    const diff = [...[...real].filter((k) => !mine.has(k)).map((k) => `real only: ${k}`), ...[...mine].filter((k) => !real.has(k)).map((k) => `ours only: ${k}`)];
    for (const x of diff) {
      const key = x.replace(/^(real|ours) only: /, '');
      if (!EXCEPTIONS.some((e) => (!e.files || e.files.test(d.file)) && e.keys.test(key))) out.push(`${d.what}: ${x}`);
    }
    const realFails = o.status !== 0;
    const oursFails = ours.errors > 0;
    if (realFails !== oursFails) out.push(`${d.what}: verdict real=${realFails ? 'FAIL' : 'pass'} ours=${oursFails ? 'FAIL' : 'pass'}`);
    if (VERBOSE) {
      process.stdout.write(
        `${d.kind} ${d.what} (${d.file}): real=${realFails ? 'FAIL' : 'pass'} ours=${oursFails ? 'FAIL' : 'pass'}\n` +
          o.messages.filter(([l]) => l !== 'INFO' && l !== 'DEBUG').map(([l, m]) => `   real ${l} ${m.slice(0, 300)}`).join('\n') + '\n' +
          ours.findings.filter((f) => f.level !== 'INFO').map((f) => `   ours ${f.level} ${f.message.slice(0, 300)}`).join('\n') + '\n',
      );
    }
    return out;
  }

  const kinds: [DamageKind, string][] = [
    ['last-hdu', 'a last HDU cut short or followed by stray bytes'],
    ['no-end', 'a header without END'],
    ['sci-header', 'a reference cut inside its science header'],
    ['asdf-cut', 'a cut ASDF tree'],
    ['useafter', 'USEAFTER in other forms'],
    ['renamed', 'a mapping named for another instrument or type (predecessor found by name)'],
  ];
  for (const [kind, title] of kinds) {
    it(`${title}: same verdicts and findings`, () => {
      const files = damaged.filter((d) => d.kind === kind);
      expect(files.length).toBeGreaterThan(0);
      const verdicts = files.map((d) => `${d.what}: ${oracle.get(d.file)?.status === 0 ? 'pass' : 'FAIL'}`);
      process.stdout.write(`${kind}: ${files.length} files; real verdicts: ${verdicts.join('; ')}\n`);
      expect(files.flatMap(differences)).toEqual([]);
    });
  }
});
