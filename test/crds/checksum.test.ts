// sha1sum of mappings (crds-rules.md §2): lines containing "sha1sum" removed, Python
// splitlines(True) semantics, the real library's messages.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ChecksumError, mappingChecksum, splitlinesKeepEnds, verifyChecksum } from '../../crds';
import { MAPPINGS } from '../support/paths';

const sha1 = (s: string) => createHash('sha1').update(s, 'utf8').digest('hex');

describe('splitlinesKeepEnds', () => {
  test('Python boundaries: \\n, \\r\\n, \\r, \\v, \\f, \\x1c-\\x1e, \\x85, \\u2028, \\u2029', () => {
    expect(splitlinesKeepEnds('a\nb\r\nc\rd\ve\ff\x1cg\x85h\u2028i')).toEqual([
      'a\n', 'b\r\n', 'c\r', 'd\v', 'e\f', 'f\x1c', 'g\x85', 'h\u2028', 'i',
    ]);
    expect(splitlinesKeepEnds('')).toEqual([]);
    expect(splitlinesKeepEnds('x\n')).toEqual(['x\n']);
  });
});

describe('mappingChecksum', () => {
  test('drops every line containing sha1sum anywhere, keeps all other bytes', () => {
    const text = "header = {\n    'sha1sum' : 'abc',\n  # a sha1sum comment\n}\nx\n";
    expect(mappingChecksum(text)).toBe(sha1('header = {\n}\nx\n'));
  });

  test('CR line ends are boundaries too (a \\r-only file)', () => {
    expect(mappingChecksum("a\r'sha1sum' : 'x'\rb")).toBe(sha1('a\rb'));
  });

  test('the value of the old checksum never matters', () => {
    const a = "header = {'sha1sum' : '1111'}\nselector = {}\n";
    const b = "header = {'sha1sum' : '2222'}\nselector = {}\n";
    expect(mappingChecksum(a)).toBe(mappingChecksum(b));
  });

  test('matches the recorded sha1sum of real mappings', () => {
    for (const name of ['hst/hst_0729.pmap', 'hst/hst_acs_darkfile_0363.rmap', 'jwst/jwst_miri_flat_0038.rmap']) {
      const text = fs.readFileSync(path.join(MAPPINGS, name), 'utf8');
      const recorded = /'sha1sum' : '([0-9a-f]{40})'/.exec(text)![1];
      expect(mappingChecksum(text)).toBe(recorded);
    }
  });
});

describe('verifyChecksum', () => {
  const text = "header = {\n    'name' : 'x.rmap',\n}\n";
  test('passes for the right value', () => {
    expect(() => verifyChecksum(text, mappingChecksum(text), 'x.rmap')).not.toThrow();
  });
  test('missing and mismatched have the real library messages', () => {
    expect(() => verifyChecksum(text, undefined, 'x.rmap')).toThrow(new ChecksumError("sha1sum is missing in 'x.rmap'"));
    expect(() => verifyChecksum(text, '0'.repeat(40), 'x.rmap')).toThrow(new ChecksumError("sha1sum mismatch in 'x.rmap'"));
  });
});

describe('mappingChecksum equals the splitlines definition on random texts', () => {
  test('20,000 random mixes of boundaries and sha1sum fragments', () => {
    const reference = (t: string) =>
      sha1(splitlinesKeepEnds(t).filter((l) => !l.includes('sha1sum')).join(''));
    const parts = ['a', 'sha1sum', '\n', '\r', '\r\n', '\v', '\x85', '\u2028', 'x sha1sum y', ' ', 'sha1', 'sum', 'é'];
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let i = 0; i < 20000; i++) {
      let t = '';
      for (let k = rnd(12); k > 0; k--) t += parts[rnd(parts.length)];
      expect([t, mappingChecksum(t)]).toEqual([t, reference(t)]);
    }
  });
});
