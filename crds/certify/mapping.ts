// Mapping certification (crds-rules.md §6.1; crds.certify.certify.MappingCertifier): syntax,
// duplicate keys, checksum (downgraded to a warning), header consistency, selector values
// valid for the instrument and type (the _ld.tpn constraints), and the comparison with the
// equivalent mapping of the comparison context (deletions, reversions, rule changes warned).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { mappingChecksum } from '../checksum';
import { findDuplicateKeys } from '../duplicates';
import { diffAction, mappingDifferences, type Difference } from '../diff';
import { mappingFromText, PipelineContext, InstrumentContext, ReferenceMapping, type Mapping, type MappingStore } from '../mappings';
import { parseMapping } from '../parser';
import { PyTuple, pyRepr } from './pyexpr';
import { loadSpecs } from './tpn';
import { validateMapping } from './mapping_validate';
import type { Log } from './validators';

export interface MappingCertifyOptions {
  observatory: string;
  specsRoot: string;
  store?: MappingStore;
  context?: string;
  /** when given, every reference an rmap names must exist (the catalog's answer) */
  referenceExists?: (name: string) => boolean;
  /** the mapping's text when it is not (yet) a file, e.g. a trial rmap update */
  text?: string;
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

const OLD_CDBS = /^[A-Za-z][A-Za-z0-9]{8}_[A-Za-z0-9]{1,8}\.[A-Za-z0-9]{1,6}$/;
const NEW_CDBS = /^[0-9][A-Za-z0-9]{8}_[A-Za-z0-9]{1,8}\.[A-Za-z0-9]{1,6}$/;
const NEW_SYNPHOT = /^[0-9][a-zA-Z0-9]{7}m_(tmc|tmg|tmt)\.[A-Za-z0-9]{1,6}$/;
const OLD_SYNPHOT = /^[A-Za-z][a-zA-Z0-9]{7}m_(tmc|tmg|tmt)\.[A-Za-z0-9]{1,6}$/;

/** naming.classify_name; an unclassifiable name is warned about and taken as the oldest kind. */
export function classifyName(name: string, log?: Log): string {
  if (name === 'N/A') return 'crds';
  if (['hst', 'jwst', 'roman', 'tobs'].some((o) => name.startsWith(o))) return 'crds';
  if (OLD_SYNPHOT.test(name)) return 'oldsynphot';
  if (NEW_SYNPHOT.test(name)) return 'newsynphot';
  if (OLD_CDBS.test(name)) return 'oldcdbs';
  if (NEW_CDBS.test(name)) return 'newcdbs';
  log?.warning(`Failed to classify name ${pyRepr(name)} for determining time order.`);
  return 'oldcdbs';
}

function extensionRank(name: string): number {
  const ext = path.extname(name);
  if (/^\.r\d[hd]/.test(ext)) return 0;
  return ({ '.fits': 1, '.json': 2, '.yaml': 3, '.asdf': 4 } as Record<string, number>)[ext] ?? 5;
}

function newstyleSerial(name: string): number {
  const m = /_(\d+)\.\w+/.exec(name);
  return m ? parseInt(m[1], 10) : -1;
}

const NAME_CASES: Record<string, string | boolean> = {
  'crds crds': 'compare_crds',
  'oldcdbs oldcdbs': 'compare',
  'newcdbs newcdbs': 'compare',
  'oldsynphot oldsynphot': 'compare',
  'newsynphot newsynphot': 'compare',
  'crds oldcdbs': true,
  'oldcdbs crds': false,
  'newcdbs oldcdbs': true,
  'oldcdbs newcdbs': false,
  'newsynphot oldsynphot': true,
  'oldsynphot newsynphot': false,
};

/**
 * naming.newer: is `name1` a more recent file than `name2`? CRDS names by extension rank then
 * serial, CDBS and SYNPHOT names of one kind as strings, known kind pairs by rule. A pair of
 * kinds the real function does not handle fails there (its result is never assigned).
 */
export function newerName(name1: string, name2: string, log?: Log): boolean {
  const n1 = name1 === 'N/A' ? name1 : path.basename(name1);
  const n2 = name2 === 'N/A' ? name2 : path.basename(name2);
  const c1 = classifyName(n1, log);
  const c2 = classifyName(n2, log);
  const kase = NAME_CASES[`${c1} ${c2}`] ?? 'raise';
  if (n1 === 'N/A') return false;
  if (n2 === 'N/A') return true;
  if (kase === 'compare_crds') {
    const r1 = extensionRank(n1);
    const r2 = extensionRank(n2);
    return r1 === r2 ? newstyleSerial(n1) > newstyleSerial(n2) : r1 > r2;
  }
  if (kase === 'compare') return n1 > n2;
  if (typeof kase === 'boolean') return kase;
  log?.warning(`Unhandled name comparison case:  ${pyRepr(new PyTuple([c1, c2]))}`);
  throw new Error("cannot access local variable 'result' where it is not associated with a value");
}

function diffTail(d: Difference): string {
  const tail: string[] = [];
  const parts = d.tuple;
  for (let i = parts.length - 1; i >= 0; i--) {
    const p = parts[i];
    if (Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && p[0].endsWith('map')) {
      tail.push(pyRepr(p[1]));
      break;
    }
    tail.push(Array.isArray(p) ? `(${p.map((x) => pyRepr(x)).join(', ')}${p.length === 1 ? ',' : ''})` : pyRepr(p));
  }
  tail.reverse();
  return `(${tail.slice(0, -1).join(', ')}${tail.length === 2 ? ',' : ''})`;
}

/** diff.mapping_check_diffs_core */
function checkDiffs(diffs: Difference[], log: Log): void {
  for (const d of diffs) {
    const action = diffAction(d);
    const msg = d.tuple[d.tuple.length - 1] as string;
    const at = diffTail(d);
    if (action.includes('header') || action === 'add') continue;
    if (action.includes('rule')) log.warning(`Rule change at ${at} ${msg}`);
    else if (action === 'replace') {
      const m = /replaced '([^']*)' with '([^']*)'/.exec(msg);
      if (m && m[1] && m[2]) {
        if (!newerName(m[2], m[1], log)) log.warning(`Reversion at ${at} ${msg}`);
      } else log.warning(`Unusual replacement ${at} ${msg}`);
    } else if (action === 'delete') log.warning(`Deletion at ${at} ${msg}`);
    else if (action === 'parkey_difference') log.warning(`Different lookup parameters ${at} ${msg}`);
    else if (action === 'class_difference') log.warning(`Different classes at ${at} ${msg}`);
  }
}

/**
 * PipelineContext.get_equivalent_mapping: the mapping of `context` playing the role of the
 * file `file`, found by the file's name (its extension, and the instrument and type that
 * utils.get_file_properties reads from the name, or from the header when the name does not
 * decompose), not by the instrument the mapping's header names; with the real warnings when
 * the context has no such instrument or type.
 */
function equivalentMapping(context: PipelineContext, file: string, props: { instrument: string; filekind: string }, log: Log): Mapping | undefined {
  if (file.endsWith('.pmap')) return context;
  let imap: InstrumentContext;
  try {
    imap = context.getImap(props.instrument);
  } catch {
    log.warning(`No equivalent instrument in ${pyRepr(context.name)} corresponding to ${pyRepr(file)}`);
    return undefined;
  }
  if (file.endsWith('.imap')) return imap;
  try {
    return imap.getRmap(props.filekind);
  } catch {
    log.warning(`No equivalent filekind in ${pyRepr(imap.name)} corresponding to ${pyRepr(file)}`);
    return undefined;
  }
}

export function certifyMapping(file: string, opts: MappingCertifyOptions, log: Log): void {
  const name = path.basename(file);
  let text: string;
  try {
    text = opts.text ?? fs.readFileSync(file, 'utf8');
  } catch (e) {
    log.error(`Validation error : ${errText(e)}`);
    return;
  }
  let ast;
  try {
    ast = parseMapping(text, name);
  } catch (e) {
    log.error(`Validation error : ${errText(e)}`);
    return;
  }
  for (const d of findDuplicateKeys(ast)) log.error(d.message.replace(/ \(line \d+(, first at line \d+)?\)$/, ''));
  let mapping: Mapping;
  const warnings: string[] = [];
  try {
    mapping = mappingFromText(text, name, opts.store, { ignoreChecksum: 'warn', warn: (m) => warnings.push(m) });
  } catch (e) {
    log.error(`Validation error : ${errText(e)}`);
    return;
  }
  // fetch_mapping(ignore_checksum="warn"): the mapping is built (required header keys) and its
  // checksum verified before the file's properties are asked for
  for (const w of warnings) log.warning(/sha1sum/.test(w) ? `Checksum error : ${w.replace(/^.*?(sha1sum)/, '$1')}` : w);
  warnings.length = 0;
  // locate.get_file_properties: a mapping's name must decompose (obs[_instr[_kind]][_serial]).
  const parts = name.replace(/\.[a-z]+$/, '').split('_');
  const ext = path.extname(name);
  const counts: Record<string, number[]> = { '.pmap': [1, 2], '.imap': [2, 3], '.rmap': [3, 4] };
  // decompose_newstyle_name also asserts the instrument and type are the observatory's (and,
  // for Roman, a numeric serial)
  const specs = loadSpecs(opts.specsRoot, opts.observatory);
  const instruments = new Set(specs.instruments());
  const filekinds = new Set(Object.entries(specs.types).flatMap(([i, kinds]) => (i === 'all' ? [] : Object.keys(kinds))));
  const nameInstrument = ext === '.pmap' ? '' : (parts[1] ?? '');
  const nameFilekind = ext === '.rmap' || !(ext in counts) ? (parts[2] ?? '') : '';
  const serial = ext === '.pmap' ? (parts[1] ?? '') : ext === '.imap' ? (parts[2] ?? '') : (parts[3] ?? '');
  const decomposes =
    (counts[ext] ?? [3, 4]).includes(parts.length) &&
    parts[0] === opts.observatory &&
    (nameInstrument === '' || instruments.has(nameInstrument)) &&
    (nameFilekind === '' || filekinds.has(nameFilekind)) &&
    (opts.observatory !== 'roman' || /^\d*$/.test(serial));
  // the file's properties as utils.get_file_properties gives them: from its name, else its header
  const props = { instrument: nameInstrument, filekind: nameFilekind };
  if (!decomposes) {
    // properties_inside_mapping: the header must name them
    // (an .imap has no filekind, so an unusual .imap name always fails)
    let inside = ext === '.pmap';
    if (ext === '.rmap') {
      try {
        const h = new Map(parseMapping(text, name).header.entries.map((e) => [e.key.t === 'str' ? e.key.v : '', e.value]));
        const sum = h.get('sha1sum');
        // the locators load it with the checksum verified (fetch_mapping; Roman's load_mapping)
        const verified = sum?.t === 'str' && sum.v === mappingChecksum(text);
        inside = h.has('instrument') && h.has('filekind') && verified;
        const str = (k: string): string => {
          const v = h.get(k);
          return v?.t === 'str' ? v.v.toLowerCase() : '';
        };
        props.instrument = str('instrument');
        props.filekind = str('filekind');
      } catch {
        inside = false;
      }
    }
    if (!inside) {
      log.error(`Validation error : Failed to determine ${pyRepr(opts.observatory)} instrument or reftype for ${pyRepr(file)}`);
      return;
    }
  }
  try {
    // The real loader builds the whole tree: a nested mapping that cannot be found (or
    // that fails to load) is an error of this mapping.
    if (!(mapping instanceof ReferenceMapping)) mapping.mappingNames();
  } catch (e) {
    for (const w of warnings) log.warning(/sha1sum/.test(w) ? `Checksum error : ${w.replace(/^.*?(sha1sum)/, '$1')}` : w);
    log.error(`Validation error : ${errText(e)}`);
    return;
  }
  for (const w of warnings) log.warning(/sha1sum/.test(w) ? `Checksum error : ${w.replace(/^.*?(sha1sum)/, '$1')}` : w);
  try {
    validateMapping(mapping, { specs: loadSpecs(opts.specsRoot, opts.observatory), store: opts.store, file }, log);
  } catch (e) {
    // an assertion of validate_mapping ends this file's certification (the real tool's trap)
    log.error(`Validation error : ${errText(e)}`);
    return;
  }
  if (opts.store && opts.context) {
    try {
      const context = opts.store.loadContext(opts.context);
      const old = equivalentMapping(context, file, props, log);
      if (!old) log.info(`No predecessor for ${pyRepr(name)} relative to context ${pyRepr(opts.context)}`);
      else if (old.name !== name) {
        const store = opts.store;
        const loader = (n: string): string => (n === name ? text : fs.readFileSync(store.locate(n), 'utf8'));
        checkDiffs(mappingDifferences(old.name, name, loader), log);
      }
    } catch (e) {
      log.error(`Validation error : ${errText(e)}`);
    }
  }
  if (opts.referenceExists && mapping instanceof ReferenceMapping) {
    for (const ref of mapping.referenceNames()) {
      if (!opts.referenceExists(ref)) log.error(`Can't locate reference file ${pyRepr(ref)} : Path ${pyRepr(ref)} does not exist.`);
    }
  }
}
