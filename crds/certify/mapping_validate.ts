// Mapping.validate_mapping of the real library (crds-rules.md §6.1 step 3), as certify runs it:
//
//   all mappings   header `mapping` == the mapping's type; `observatory` known
//   pmap / imap    every nested mapping has the same observatory; pmap key == imap `instrument`;
//                  imap `instrument` known, imap key == rmap `filekind`, imap instrument == rmap's
//   rmap           instrument / filekind known to the type specs; reference_to_dataset targets
//                  are parkeys; then every selector (Selector.validate_selector):
//                    len(parkey) == len(classes) (else an error per selector)
//                    Match keys: each or-glob value valid for its parameter per the _ld.tpn
//                      constraints (ReferenceMapping.get_valid_values_map, the library's quirks
//                      kept: integer ranges become lists of ints, which no rmap string equals);
//                      equal-weight superset rows ⇒ AmbiguousMatchError (JWST / roman, or HST
//                      with merge_overlaps false; HST otherwise only a verbose warning)
//                    UseAfter / ClosestTime keys parse as dates; VersionAfter keys as versions
//                    terminal values are strings (tuples / dicts of strings)
//
// Header-level failures are assertions: thrown (certify reports "Validation error : ...") and
// the remaining checks are skipped. Selector failures are logged one per selection as the
// library's error_on_exception does: "<Sel>(<params>) : <key repr> : <reason>".

import type { PyValue } from '../ast';
import { conditionValue } from '../conditioning';
import { esotericKey, globList } from '../matchers';
import { InstrumentContext, PipelineContext, ReferenceMapping, type Mapping, type MappingStore } from '../mappings';
import { differentMatchWeight, matchSuperset } from '../refactor';
import { MatchSelector, UseAfterSelector, VersionAfterSelector, type Selector, type Terminal } from '../selectors';
import { reformatDate } from '../timestamp';
import { pyStrRepr } from '../parser';
import { isExpression, type ObservatorySpecs, type TpnInfo } from './tpn';
import type { Log } from './validators';

export const ALL_OBSERVATORIES = ['hst', 'jwst', 'roman', 'tobs'];

class ValidationError extends Error {}

function assert(ok: boolean, message: string): void {
  if (!ok) throw new ValidationError(message);
}

const tupleRepr = (items: readonly string[]): string => `(${items.map(pyStrRepr).join(', ')}${items.length === 1 ? ',' : ''})`;

/** A valid-values list: the conditioned TPN values (an `lo:hi` range becomes its integers, conditioned). */
type ValidList = string[];

const validListRepr = (v: ValidList): string => tupleRepr(v);

/** Python sort order of TpnInfo tuples (name, keytype, datatype, presence, values). */
function compareInfos(a: TpnInfo, b: TpnInfo): number {
  const ka = [a.name, a.keytype, a.datatype, a.presence];
  const kb = [b.name, b.keytype, b.datatype, b.presence];
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] < kb[i] ? -1 : 1;
  for (let i = 0; i < Math.min(a.values.length, b.values.length); i++) if (a.values[i] !== b.values[i]) return a.values[i] < b.values[i] ? -1 : 1;
  return a.values.length - b.values.length;
}

/**
 * ReferenceMapping.get_valid_values_map(condition=True), the rmap's tpn_valid_values:
 * { required parkey: conditioned valid values } from the type's non-complex _ld.tpn constraints.
 */
export function tpnValidValues(rmap: ReferenceMapping, specs: ObservatorySpecs): Map<string, ValidList> {
  const infos = specs.tpnInfos(rmap.instrument.toLowerCase(), rmap.filekind.toLowerCase(), 'ld_tpn').slice().sort(compareInfos);
  const required = new Set(rmap.getRequiredParkeys());
  const out = new Map<string, ValidList>();
  for (const info of infos) {
    // is_complex_constraint: expression datatype, or conditional presence
    if (info.datatype.startsWith('X') || isExpression(info.presence)) continue;
    if (!required.has(info.name)) continue;
    let values: (string | number)[] = info.values;
    if (values.length === 1 && info.values[0].includes(':')) {
      const limits = info.values[0].split(':').map((x) => pyIntOfFloat(x));
      if (limits.length >= 2 && limits.every((x) => x !== undefined)) {
        const ints: number[] = [];
        for (let i = limits[0]!; i <= limits[1]!; i++) ints.push(i);
        values = ints;
      }
    }
    out.set(info.name, values.map((v) => conditionValue(v)));
  }
  return out;
}

/** int(float(x)), or undefined where Python raises. */
function pyIntOfFloat(x: string): number | undefined {
  const s = x.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) && !/^[+-]?(inf|infinity|nan)$/i.test(s)) return undefined;
  const f = Number(s.replace(/^([+-]?)inf(inity)?$/i, '$1Infinity'));
  if (!Number.isFinite(f)) return undefined; // int(inf) / int(nan) raise
  return Math.trunc(f);
}

/** Python float(str), or undefined where it raises. */
function pyFloat(x: string): number | undefined {
  const s = x.trim();
  if (/^[+-]?(\d[\d_]*\.?[\d_]*|\.\d[\d_]*)([eE][+-]?\d+)?$/.test(s)) return Number(s.replace(/_/g, ''));
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(s)) return NaN;
  return undefined;
}

function pyFloatStr(f: number): string {
  if (Number.isInteger(f)) return `${f}.0`;
  return String(f);
}

/** Selector._validate_value(name, value, valid_list, runtime=False). */
function validateValue(name: string, value: string, valid: ValidList, substitutions: Record<string, Record<string, PyValue>>): void {
  if (valid.includes(value) || valid.includes(conditionValue(value))) return;
  if (!valid.length) return;
  if (value.startsWith('NOT')) return validateValue(name, pyStrip(value.slice(3)), valid, substitutions);
  if (esotericKey(value) || ['*', 'ANY', 'N/A'].includes(value)) return;
  if (value.toLowerCase().startsWith('between')) {
    const parts = value.split(/\s+/).filter(Boolean);
    if (parts.length !== 3) throw new ValidationError(`${parts.length > 3 ? 'too many' : 'not enough'} values to unpack (expected 3${parts.length < 3 ? `, got ${parts.length}` : ''})`);
    validateValue(name, parts[1], valid, substitutions);
    validateValue(name, parts[2], valid, substitutions);
    return;
  }
  if (valid.length === 1 && valid[0].includes(':')) {
    const parts = valid[0].split(':');
    if (parts.length !== 2) throw new ValidationError(`${parts.length > 2 ? 'too many' : 'not enough'} values to unpack (expected 2${parts.length < 2 ? `, got ${parts.length}` : ''})`);
    const [min, max] = parts.map(pyFloat);
    if (min === undefined) throw new ValidationError(`could not convert string to float: ${pyStrRepr(parts[0])}`);
    if (max === undefined) throw new ValidationError(`could not convert string to float: ${pyStrRepr(parts[1])}`);
    const v = pyFloat(value);
    if (v === undefined) throw new ValidationError(`could not convert string to float: ${pyStrRepr(value)}`);
    if (min <= v && v <= max) return;
    throw new ValidationError(` parameter=${pyStrRepr(name)} value =${pyStrRepr(value)} is not in range [${pyFloatStr(min)} .. ${pyFloatStr(max)}]`);
  }
  const sub = substitutions[name]?.[value];
  if (sub && sub.t === 'str') return validateValue(name, sub.v, valid, substitutions);
  throw new ValidationError(` parameter=${pyStrRepr(name)} value=${pyStrRepr(value)} is not in ${validListRepr(valid)}`);
}

function pyStrip(s: string): string {
  return s.replace(/^[\s\u001c-\u001f\u0085\u00a0]+|[\s\u001c-\u001f\u0085\u00a0]+$/g, '');
}

function isSelector(v: unknown): v is Selector {
  return typeof v === 'object' && v !== null && 'rawEntries' in (v as object) && 'parameters' in (v as object);
}

/** _validate_selector's checks of a terminal choice. */
function validateChoice(choice: Terminal, keyRepr: string): void {
  if (typeof choice === 'string') return;
  if (Array.isArray(choice)) {
    for (const v of choice) if (typeof v !== 'string') throw new ValidationError(`Non-string tuple value for choice ${JSON.stringify(choice)} at ${keyRepr}`);
    return;
  }
  if (typeof choice === 'object' && choice !== null) {
    for (const v of Object.values(choice)) if (typeof v !== 'string') throw new ValidationError(`Non-string dictionary value for choice ${JSON.stringify(choice)}  at ${keyRepr}`);
    return;
  }
  throw new ValidationError(`Illegal type for selector primitive value ${JSON.stringify(choice)}`);
}

interface SelectorValidation {
  observatory: string;
  mergeOverlaps: boolean;
  parkeyLength: number;
  classes: string[];
  commentParkeys: Set<string>;
  substitutions: Record<string, Record<string, PyValue>>;
  valid: Map<string, ValidList>;
  log: Log;
}

/** Selector.validate_selector over one selector and (recursively) its nested selectors. */
function validateSelector(sel: Selector, v: SelectorValidation): void {
  const prefix = `${sel.kind}${tupleRepr(sel.parameters)}`;
  if (v.parkeyLength !== v.classes.length) {
    v.log.error(`${prefix} : Length mismatch between rmap parkey: ${v.parkeyLength} and rmap classes header fields ${tupleRepr(v.classes)}`);
  }
  const selections: { key: string[] | string; keyRepr: string; choice: Selector | Terminal }[] =
    sel instanceof MatchSelector
      ? sel.rows.map((r) => ({ key: r.key, keyRepr: tupleRepr(r.key), choice: r.choice }))
      : sel instanceof UseAfterSelector
        ? sel.entries.map((e) => ({ key: e.key, keyRepr: pyStrRepr(e.key), choice: e.choice }))
        : sel.rawEntries.map((e) => ({ key: '', keyRepr: '', choice: e.value }));
  const matchKeys = sel instanceof MatchSelector ? sel.rows.map((r) => r.key.map((x) => conditionValue(x))) : [];
  for (const s of selections) {
    try {
      try {
        if (sel instanceof MatchSelector) validateMatchKey(sel, s.key as string[], matchKeys, v);
        else if (sel instanceof VersionAfterSelector) {
          // _validate_conditioned_key: every part an int (the load already parsed the version)
        } else if (sel instanceof UseAfterSelector) {
          try {
            reformatDate(s.key as string);
          } catch (exc) {
            throw new ValidationError(
              `${sel.kind} Invalid date/time format for ${tupleRepr(sel.parameters)} value = ${pyStrRepr(s.key as string)} exception is ${pyStrRepr(exc instanceof Error ? exc.message : String(exc))}`,
            );
          }
        }
      } catch (exc) {
        throw new ValidationError(`${s.keyRepr} : ${exc instanceof Error ? exc.message : String(exc)}`);
      }
      if (isSelector(s.choice)) validateSelector(s.choice, v);
      else {
        try {
          validateChoice(s.choice as Terminal, s.keyRepr);
        } catch (exc) {
          throw new ValidationError(`${s.keyRepr} : ${exc instanceof Error ? exc.message : String(exc)}`);
        }
      }
    } catch (exc) {
      v.log.error(`${prefix} : ${exc instanceof Error ? exc.message : String(exc)}`);
    }
  }
}

/** MatchSelector._validate_raw_key on a (substituted, conditioned) key. */
function validateMatchKey(sel: MatchSelector, key: string[], keys: string[][], v: SelectorValidation): void {
  if (key.length !== sel.parameters.length) {
    throw new ValidationError(`wrong length for parameter list ${tupleRepr(sel.parameters)} for key ${tupleRepr(key)}`);
  }
  sel.parameters.forEach((name, i) => {
    if (v.commentParkeys.has(name)) return;
    const valid = v.valid.get(name);
    if (!valid) return;
    for (const value of globList(key[i])) validateValue(name, value, valid, v.substitutions);
  });
  // HST with merge_overlaps (the default) only gives a verbose warning: nothing to report
  if (v.observatory === 'hst' && v.mergeOverlaps) return;
  const conditioned = key.map((k) => conditionValue(k));
  for (const other of keys) {
    const same = other.length === conditioned.length && other.every((x, i) => x === conditioned[i]);
    if (!same && matchSuperset(other, conditioned) && !differentMatchWeight(conditioned, other)) {
      if (v.observatory !== 'hst' || !v.mergeOverlaps) {
        throw new ValidationError(
          `\n----------------------------------------\nMatch case\n${tupleRepr(conditioned)}\nis an equal weight special case of\n${tupleRepr(other)}\n` +
            'Cancel the submission and regenerate the reference files\nwith different parameter values which coincide with an existing category.\n' +
            'For some parameter sets, CRDS interprets both matches as equally good.\n----------------------------------------',
        );
      }
    }
  }
}

function headerStrings(m: Mapping, key: string): string[] {
  const v = m.header[key];
  if (!v) return [];
  if (v.t === 'str') return [v.v];
  if (v.t === 'tuple' || v.t === 'list') return v.items.map((x) => (x.t === 'str' ? x.v : ''));
  return [];
}

/** The header's `parkey` as a tuple of tuples (the number of its levels). */
function parkeyLevels(m: Mapping): number {
  const v = m.header['parkey'];
  return v && (v.t === 'tuple' || v.t === 'list') ? v.items.length : 1;
}

const MAPPING_TYPE: Record<string, string> = { pmap: 'pipeline', imap: 'instrument', rmap: 'reference' };

export interface ValidateOptions {
  specs: ObservatorySpecs;
  store?: MappingStore;
  file: string;
}

/** Mapping.validate_mapping: header-level failures thrown, selector failures logged. */
export function validateMapping(m: Mapping, opts: ValidateOptions, log: Log): void {
  const expected = MAPPING_TYPE[m.kind];
  const actual = String(m.get('mapping', '')).toLowerCase();
  assert(actual === expected, `Expected header mapping='${expected}' but got mapping='${actual.toUpperCase()}' in ${pyStrRepr(opts.file)}`);
  const observatory = String(m.get('observatory', '')).toLowerCase();
  assert(ALL_OBSERVATORIES.includes(observatory), `Invalid observatory ${pyStrRepr(observatory)} in ${pyStrRepr(opts.file)}`);
  const instruments = Object.keys(opts.specs.types).map((i) => i.toLowerCase());
  const checkInstrument = (instrument: string): void =>
    assert(instruments.includes(instrument), `Invalid instrument ${pyStrRepr(instrument)} in ${pyStrRepr(opts.file)}`);
  const nested = (key: string, selfVal: string, child: Mapping, childVal: string): void =>
    assert(
      selfVal === childVal,
      `selector['${key}']='${selfVal}' in '${opts.file}' doesn't match header['${key}']='${childVal}' in nested file '${opts.store?.locate(child.name) ?? child.name}'.`,
    );
  if (m instanceof PipelineContext || m instanceof InstrumentContext) {
    const children: [string, Mapping][] = [];
    for (const k of m.normalKeys()) {
      const name = m.selections.get(k)!;
      if (!opts.store) throw new ValidationError(`No mapping store to load ${pyStrRepr(name)}`);
      children.push([k, opts.store.load(name)]);
    }
    for (const [, child] of children) nested('observatory', observatory, child, String(child.get('observatory', '')).toLowerCase());
    if (m instanceof PipelineContext) {
      for (const [k, child] of children) nested('instrument', k, child, String(child.get('instrument', '')).toLowerCase());
    } else {
      const instrument = String(m.get('instrument', '')).toLowerCase();
      checkInstrument(instrument);
      for (const [k, child] of children) {
        nested('instrument', instrument, child, String(child.get('instrument', '')).toLowerCase());
        nested('filekind', k, child, String(child.get('filekind', '')).toLowerCase());
      }
    }
    return;
  }
  const rmap = m;
  checkInstrument(rmap.instrument.toLowerCase());
  const filekinds = new Set<string>();
  for (const kinds of Object.values(opts.specs.types)) for (const k of Object.keys(kinds)) filekinds.add(k.toLowerCase());
  assert(filekinds.has(rmap.filekind.toLowerCase()), `Invalid filekind ${pyStrRepr(rmap.filekind.toLowerCase())} in ${pyStrRepr(opts.file)}`);
  const r2d = rmap.header['reference_to_dataset'];
  if (r2d && r2d.t === 'dict') {
    const parkeys = new Set(rmap.getRequiredParkeys());
    for (const e of r2d.entries) {
      assert(e.value.t === 'str' && parkeys.has(e.value.v.toUpperCase()), 'reference_to_dataset dataset keyword not in parkey keywords.');
    }
  }
  const valid = tpnValidValues(rmap, opts.specs);
  const mergeRaw = rmap.header['merge_overlaps'];
  const merge = mergeRaw === undefined ? true : ['TRUE', '1'].includes(pyValueStr(mergeRaw).toUpperCase());
  const classes = rmap.header['classes'] ? headerStrings(rmap, 'classes') : ['Match', 'UseAfter'];
  const subs: Record<string, Record<string, PyValue>> = { 'META.SUBARRAY.NAME': { GENERIC: { t: 'str', v: 'N/A' } }, SUBARRAY: { GENERIC: { t: 'str', v: 'N/A' } } };
  const s = rmap.header['substitutions'];
  if (s && s.t === 'dict') {
    for (const e of s.entries) {
      if (e.key.t !== 'str' || e.value.t !== 'dict') continue;
      const table: Record<string, PyValue> = {};
      for (const x of e.value.entries) if (x.key.t === 'str') table[x.key.v] = x.value;
      subs[e.key.v] = table;
    }
  }
  validateSelector(rmap.selector, {
    observatory,
    mergeOverlaps: merge,
    parkeyLength: parkeyLevels(rmap),
    classes,
    commentParkeys: new Set(headerStrings(rmap, 'comment_parkeys').map((x) => x.toUpperCase())),
    substitutions: subs,
    valid,
    log,
  });
}

function pyValueStr(v: PyValue): string {
  switch (v.t) {
    case 'str':
      return v.v;
    case 'int':
    case 'float':
      return String(v.v);
    case 'bool':
      return v.v ? 'True' : 'False';
    default:
      return '';
  }
}
