// bench/certify [--size-gb N] [--repeat N]: header-read and certify times of our crds/certify
// beside the real crds library, on a small real reference and on a generated multi-GB sparse
// FITS file (the same reference with an extra image extension whose data is a hole made by
// ftruncate). Prints a table with ratios (real / ours: > 1 means we are faster).
//
// Goals: reading the headers of the multi-GB file costs about the same as of the small one
// (only header blocks are read), and certify is faster than the real tool on every file.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { certifyFile } from '../crds/certify';
import { FitsFile } from '../crds/io/fits';
import { MappingStore } from '../crds/mappings';
import { CRDS_PYTHON, MAPPINGS, REPO_ROOT, SHARED_DATA, TESTDATA } from '../test/support/paths';

const SPECS = path.join(SHARED_DATA, 'crds-specs');
const CONTEXT = 'hst_0729.pmap';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(fn: () => void, repeat: number): number {
  const ts: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t = process.hrtime.bigint();
    fn();
    ts.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  return median(ts);
}

/** A real reference with an extra IMAGE extension of `gb` GB of float32 zeros (a hole). */
function makeLarge(small: string, out: string, gb: number): void {
  const card = (s: string): string => s.padEnd(80, ' ');
  const naxis1 = 16384;
  const naxis2 = Math.ceil((gb * 1024 ** 3) / (naxis1 * 4));
  const cards = [
    "XTENSION= 'IMAGE   '",
    'BITPIX  =                  -32',
    'NAXIS   =                    2',
    `NAXIS1  = ${String(naxis1).padStart(20)}`,
    `NAXIS2  = ${String(naxis2).padStart(20)}`,
    'PCOUNT  =                    0',
    'GCOUNT  =                    1',
    "EXTNAME = 'BENCH   '",
    'END',
  ].map(card).join('');
  const header = Buffer.from(cards.padEnd(2880, ' '), 'latin1');
  fs.copyFileSync(small, out);
  fs.appendFileSync(out, header);
  fs.truncateSync(out, fs.statSync(out).size + naxis1 * naxis2 * 4);
}

function main(): void {
  const repeat = arg('--repeat', 5);
  const gb = arg('--size-gb', 4);
  if (!fs.existsSync(CRDS_PYTHON)) throw new Error(`no real crds library at ${CRDS_PYTHON}: run ops/install`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-bench-certify-'));
  try {
    const small = path.join(TESTDATA, 'hst', 'hst_acs_biasfile_0001.fits');
    const table = path.join(TESTDATA, 'hst', 'y951738kl_hv.fits');
    const large = path.join(dir, 'hst_acs_biasfile_0001.fits');
    makeLarge(small, large, gb);
    const files = [
      { label: 'small image (52 KB)', file: small },
      { label: 'small table (14 KB)', file: table },
      { label: `large sparse (${gb} GB)`, file: large },
    ];
    const store = new MappingStore(MAPPINGS, { ignoreChecksum: 'warn' });
    const opts = { observatory: 'hst', specsRoot: SPECS, store, context: CONTEXT };
    certifyFile(small, opts); // warm-up: context, specs and .tpn files loaded once, as in a server
    const ours = files.map(({ file }) => ({
      header: time(() => FitsFile.open(file).close(), repeat),
      certify: time(() => certifyFile(file, opts), repeat),
      errors: certifyFile(file, opts).errors,
    }));
    const py = spawnSync(
      CRDS_PYTHON,
      [path.join(REPO_ROOT, 'bench', 'py', 'certify_bench.py'), '--mappings', MAPPINGS, '--specs', SPECS, '--context', CONTEXT, '--repeat', String(repeat), ...files.map((f) => f.file)],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    if (py.status !== 0) throw new Error(`real library failed: ${py.stderr.slice(-2000)}`);
    const real = JSON.parse(py.stdout) as Record<string, { header: number; certify: number }>;
    const ms = (s: number): string => (s * 1000).toFixed(2).padStart(9);
    const ratio = (a: number, b: number): string => `${(a / b).toFixed(1)}×`.padStart(8);
    process.stdout.write(`certify benchmark (median of ${repeat}; context ${CONTEXT}; ratio = real / ours)\n`);
    process.stdout.write(`${'file'.padEnd(24)} ${'header ours'.padStart(12)} ${'real'.padStart(9)} ${'ratio'.padStart(8)}  ${'certify ours'.padStart(12)} ${'real'.padStart(9)} ${'ratio'.padStart(8)}\n`);
    files.forEach((f, i) => {
      const r = real[f.file];
      process.stdout.write(
        `${f.label.padEnd(24)} ${ms(ours[i].header)} ms ${ms(r.header)} ${ratio(r.header, ours[i].header)}  ${ms(ours[i].certify)} ms ${ms(r.certify)} ${ratio(r.certify, ours[i].certify)}\n`,
      );
    });
    const hs = ours[0].header;
    const hl = ours[2].header;
    process.stdout.write(`header read, large vs small image: ${(hl / hs).toFixed(2)}× (goal: about 1)\n`);
    process.stdout.write(`certify faster than the real tool on every file: ${files.every((f, i) => ours[i].certify < real[f.file].certify) ? 'yes' : 'NO'}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();
