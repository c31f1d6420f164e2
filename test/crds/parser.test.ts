// Parser of the mapping language: tree shapes, Python literal details, duplicate keys and
// error positions.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MappingSyntaxError, findDuplicateKeys, parseMapping, pyStr, pyToJs, type PyValue } from '../../crds';
import { MAPPINGS } from '../support/paths';

function syntaxError(text: string): MappingSyntaxError {
  try {
    parseMapping(text, 'bad.rmap');
  } catch (exc) {
    if (exc instanceof MappingSyntaxError) return exc;
    throw exc;
  }
  throw new Error('expected a MappingSyntaxError');
}

describe('parseMapping', () => {
  test('a real rmap: header, selector calls, positions', () => {
    const file = path.join(MAPPINGS, 'hst', 'hst_cos_deadtab_0250.rmap');
    const ast = parseMapping(fs.readFileSync(file, 'utf8'), 'hst_cos_deadtab_0250.rmap');
    const header = pyToJs(ast.header) as Record<string, unknown>;
    expect(header.name).toBe('hst_cos_deadtab_0250.rmap');
    expect(header.parkey).toEqual([['DETECTOR'], ['DATE-OBS', 'TIME-OBS']]);
    expect(ast.selector.t).toBe('call');
    if (ast.selector.t !== 'call') return;
    expect(ast.selector.name).toBe('Match');
    const [fuv, nuv] = ast.selector.arg.entries;
    expect(fuv.key).toMatchObject({ t: 'tuple', items: [{ t: 'str', v: 'FUV' }] });
    expect(fuv.value).toMatchObject({ t: 'call', name: 'UseAfter' });
    expect(nuv.pos!.line).toBeGreaterThan(fuv.pos!.line);
    expect(ast.header.pos).toEqual({ line: 1, column: 10 });
  });

  test('python literal forms: int vs float, 1-tuples, (x) is x, negatives, None/True, comments, comment section', () => {
    const ast = parseMapping(
      [
        '# leading comment',
        "header = {'a' : 1, 'b' : 2.0, 'c' : -1023.0, 'd' : ('X',), 'e' : ('Y'), 'f' : None, 'g' : True,",
        "  'h' : (), 'i' : 1e5, 'j' : \"it's\", 'k' : 'a\\'b', # trailing comment",
        "  'l' : ['p', 'q'], 'm' : 'x' 'y'}",
        'comment = """free',
        'text"""',
        "selector = {'ACS' : 'hst_acs.imap'}",
      ].join('\n'),
    );
    const h = Object.fromEntries(ast.header.entries.map((e) => [pyStr(e.key), e.value])) as Record<string, PyValue>;
    expect(h.a).toMatchObject({ t: 'int', v: 1 });
    expect(h.b).toMatchObject({ t: 'float', v: 2 });
    expect(h.c).toMatchObject({ t: 'float', v: -1023 });
    expect(h.d).toMatchObject({ t: 'tuple', items: [{ t: 'str', v: 'X' }] });
    expect(h.e).toMatchObject({ t: 'str', v: 'Y' });
    expect(h.f.t).toBe('none');
    expect(h.g).toMatchObject({ t: 'bool', v: true });
    expect(h.h).toMatchObject({ t: 'tuple', items: [] });
    expect(h.i).toMatchObject({ t: 'float', v: 100000 });
    expect(h.j).toMatchObject({ t: 'str', v: "it's" });
    expect(h.k).toMatchObject({ t: 'str', v: "a'b" });
    expect(h.l.t).toBe('list');
    expect(h.m).toMatchObject({ t: 'str', v: 'xy' });
    expect(ast.comment).toBe('free\ntext');
    expect(ast.selector.t).toBe('dict');
    expect(pyStr(h.b)).toBe('2.0');
    expect(pyStr(h.d)).toBe("('X',)");
  });

  test('duplicate keys are kept in file order and reported by findDuplicateKeys', () => {
    const ast = parseMapping(
      "header = {'name' : 'x.rmap', 'name' : 'y.rmap'}\n" +
        "selector = Match({\n  'A' : UseAfter({\n    '2000-01-01 00:00:00' : 'a.fits',\n    '2000-01-01 00:00:00' : 'b.fits',\n  }),\n})\n",
    );
    expect(ast.header.entries.map((e) => pyStr(e.value))).toEqual(['x.rmap', 'y.rmap']);
    const dups = findDuplicateKeys(ast);
    expect(dups).toHaveLength(2);
    expect(dups[0]).toMatchObject({ path: ['header'], key: "'name'", first: { line: 1 }, duplicate: { line: 1 } });
    expect(dups[1].path).toEqual(['selector', "Match('A')"]);
    expect(dups[1].duplicate!.line).toBe(5);
    expect(dups[1].message).toContain("= 'b.fits' vs. 'a.fits'");
  });

  test('1 and 1.0 are the same dict key for Python', () => {
    const ast = parseMapping("header = {}\nselector = Match({1 : 'a', 1.0 : 'b', (1,) : 'c'})");
    expect(findDuplicateKeys(ast).map((d) => d.key)).toEqual(['1.0']);
  });

  test.each([
    ["header = {'a' : 1}\nselector = Match({'x' : foo})", 2, 25, /expected a value after ':' .*name 'foo'/],
    ["header = {'a' : 1,\n  'b' 2}\nselector = {}", 2, 7, /expected ':' after a dict key but found number 2/],
    ["header = {'a' : 1}\nselector = Match({'x' : 'y'}", 2, 29, /expected '\)' closing Match/],
    ["header = {'a' : 'unterminated}\nselector = {}", 1, 17, /end of line inside a string literal/],
    ["header = {'a' : 1}\nimport os", 2, 1, /expected a section assignment/],
    ["header = {'a' : 1}\nselector = Foo({})", 2, 12, /expected a dict '\{' or a selector call/],
    ["header = {'a' : 1}\n", 2, 1, /missing 'selector = \.\.\.' section/],
    ["header = {'a' : 1}\nselector = {}\nheader = {}", 3, 1, /section 'header' is defined more than once/],
    ["header = {['a'] : 1}\nselector = {}", 1, 11, /dict key must be a string, number, tuple/],
    ["header = {'a' : 1 + 2}\nselector = {}", 1, 19, /expected ',' or '\}' in a dict/],
    ["header = {'a' : x.y}\nselector = {}", 1, 18, /unexpected character "\."/],
  ])('syntax error %#', (text, line, column, message) => {
    const err = syntaxError(text);
    expect(err.filename).toBe('bad.rmap');
    expect([err.line, err.column]).toEqual([line, column]);
    expect(err.reason).toMatch(message);
    expect(err.message.startsWith(`bad.rmap:${line}:${column}: `)).toBe(true);
  });
});
