// Canonical serialization (crds/serialize.ts) on every real mapping: re-serializing a file
// reproduces it byte for byte unless the file itself is not in canonical form; for those,
// and for a sample of the rest, our text must equal the real library's Mapping.format(),
// and rewriteChecksum() must equal what the library writes (`crds checksum`).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mappingChecksum } from '../../crds/checksum';
import { parseMapping } from '../../crds/parser';
import { formatMapping, rewriteChecksum } from '../../crds/serialize';
import { MAPPINGS } from '../support/paths';
import { runOracle } from './oracle';

type Formatted = Record<string, { format: string; written: string } | { error: string }>;

const files = ['hst', 'jwst'].flatMap((obs) =>
  fs
    .readdirSync(path.join(MAPPINGS, obs))
    .filter((n) => /\.[pir]map$/.test(n))
    .sort(),
);
const text = (name: string) => fs.readFileSync(path.join(MAPPINGS, name.split('_')[0].split('.')[0], name), 'utf8');
/** The file's non-blank lines, trimmed and sorted, without the checksum line and # comments. */
const sortedLines = (s: string) =>
  s
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.includes('sha1sum') && !l.startsWith('#'))
    .sort()
    .join('\n');

// A deliberately broken test fixture of the real client (no 'mapping' header key): the real
// library refuses to load it, so there is no canonical form to compare with.
const BROKEN_FIXTURES = ['hst_acs_darkfile_missing_key.rmap'];

describe('canonical serialization of the real rules', () => {
  const differing: string[] = [];
  let identical = 0;

  beforeAll(() => {
    for (const name of files) {
      const original = text(name);
      if (formatMapping(parseMapping(original, name)) === original) identical++;
      else differing.push(name);
    }
  });

  test('re-serializing reproduces almost every real mapping byte for byte', () => {
    console.log(`serialize: ${identical} of ${files.length} real mappings byte-identical; ${differing.length} not canonical`);
    expect(files.length).toBeGreaterThan(4700);
    expect(differing.length).toBeLessThan(200);
  });

  test('the non-canonical files differ only in line order, and we write what the real library writes', () => {
    // Reason (crds-rules.md §1.8): old hand-edited / Python-2-era files whose keys are not
    // in sorted order. Same lines, other order; the library rewrites them like we do.
    // Reasons (crds-rules.md §1.8): keys not in sorted order, extra blank lines or
    // indentation, and `#` comments (lost on rewrite) in old hand-edited / Python-2-era
    // files; the lines are otherwise the same.
    const sample = files.filter((_, i) => i % 97 === 0 && !differing.includes(files[i]));
    const checked = [...differing, ...sample].filter((n) => !BROKEN_FIXTURES.includes(n));
    const oracle = runOracle<Formatted>('format_mappings.py', { files: [...checked, ...BROKEN_FIXTURES] });
    for (const name of BROKEN_FIXTURES) expect(oracle[name]).toHaveProperty('error');
    const problems: string[] = [];
    for (const name of checked) {
      const theirs = oracle[name];
      const ours = formatMapping(parseMapping(text(name), name));
      if ('error' in theirs) problems.push(`${name}: real library failed: ${theirs.error}`);
      else {
        if (ours !== theirs.format) problems.push(`${name}: format differs from the real library`);
        if (rewriteChecksum(text(name), name) !== theirs.written) problems.push(`${name}: checksum rewrite differs`);
      }
      if (differing.includes(name) && sortedLines(ours) !== sortedLines(text(name))) {
        problems.push(`${name}: differs from the file in more than line order and blank lines`);
      }
    }
    expect(problems).toEqual([]);
  }, 300_000);

  test('rewriteChecksum makes text whose checksum verifies and is stable', () => {
    const name = 'hst_cos_deadtab_0250.rmap';
    const edited = text(name).replace('s7g1700gl_dead.fits', 'x7g1700gl_dead.fits');
    const once = rewriteChecksum(edited, name);
    expect(rewriteChecksum(once, name)).toBe(once);
    const recorded = /'sha1sum' : '([0-9a-f]{40})'/.exec(once)![1];
    expect(recorded).toBe(mappingChecksum(once));
    expect(recorded).not.toBe(mappingChecksum(text(name)));
    // formatting-only changes (spacing, comments) do not change the canonical text
    expect(rewriteChecksum(text(name).replace("'FUV'", "'FUV' ") + '# note\n', name)).toBe(text(name));
  });
});
