// Duplicate dict keys in a parsed mapping: Python's exec silently keeps the last, so the
// real certify re-parses to report them ("Duplicate entry at ..."). The parser keeps them.
import type { MappingAst, Position, PyDict, PyValue } from './ast';
import { pyRepr } from './parser';
import { pyKeyId } from './selectors';

export interface DuplicateKey {
  /** where: 'header' or 'selector' followed by the nested keys, e.g. ['selector', "Match('HRC',)"] */
  path: string[];
  key: string; // Python repr of the key
  first: Position | undefined;
  duplicate: Position | undefined;
  message: string;
}

export function findDuplicateKeys(ast: MappingAst): DuplicateKey[] {
  const out: DuplicateKey[] = [];
  // `container` names the selector holding `d` (Python names nested levels "Match(key)").
  const walk = (d: PyDict, where: string[], container?: string): void => {
    const seen = new Map<string, { pos?: Position; value: PyValue }>();
    for (const e of d.entries) {
      const id = pyKeyId(e.key);
      const prior = seen.get(id);
      if (prior) {
        const key = pyRepr(e.key);
        out.push({
          path: where,
          key,
          first: prior.pos,
          duplicate: e.pos,
          message: `Duplicate entry at ${[...where, key].join(' ')} = ${pyRepr(e.value)} vs. ${pyRepr(prior.value)}` +
            (e.pos ? ` (line ${e.pos.line}${prior.pos ? `, first at line ${prior.pos.line}` : ''})` : ''),
        });
      } else {
        seen.set(id, { pos: e.pos, value: e.value });
      }
      const v = e.value;
      if (v.t === 'dict') walk(v, [...where, pyRepr(e.key)]);
      else if (v.t === 'call') walk(v.arg, [...where, `${container ?? v.name}(${pyRepr(e.key)})`], v.name);
    }
  };
  walk(ast.header, ['header']);
  if (ast.selector.t === 'dict') walk(ast.selector, ['selector']);
  else walk(ast.selector.arg, ['selector'], ast.selector.name);
  return out;
}
