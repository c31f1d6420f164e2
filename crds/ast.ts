// The syntax tree of a mapping file: the restricted Python-literal language of CRDS
// rules (see docs/crds-rules.md §1.2). Values keep their Python type (int vs float, tuple
// vs list) and their source position, because canonical re-serialization and certify
// (duplicate keys, line numbers in messages) both need them.

export type SelectorName =
  | 'Match'
  | 'UseAfter'
  | 'VersionAfter'
  | 'SelectVersion'
  | 'ClosestTime'
  | 'GeometricallyNearest'
  | 'Bracket';

export interface Position {
  line: number; // 1-based
  column: number; // 1-based
}

export type PyValue =
  | { t: 'str'; v: string; pos?: Position }
  | { t: 'int'; v: number; pos?: Position }
  | { t: 'float'; v: number; pos?: Position }
  | { t: 'none'; pos?: Position }
  | { t: 'bool'; v: boolean; pos?: Position }
  | { t: 'tuple'; items: PyValue[]; pos?: Position }
  | { t: 'list'; items: PyValue[]; pos?: Position }
  | PyDict
  | PyCall;

/** A dict literal; entries in file order, duplicate keys kept (certify reports them). */
export interface PyDict {
  t: 'dict';
  entries: PyDictEntry[];
  pos?: Position;
}

export interface PyDictEntry {
  key: PyValue;
  value: PyValue;
  pos?: Position;
}

/** A selector constructor call such as `Match({...})`: one dict argument. */
export interface PyCall {
  t: 'call';
  name: SelectorName;
  arg: PyDict;
  pos?: Position;
}

/** A whole mapping file. */
export interface MappingAst {
  header: PyDict;
  comment?: string; // the text between the triple quotes, verbatim
  selector: PyDict | PyCall;
}
