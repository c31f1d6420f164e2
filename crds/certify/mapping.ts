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
import { pyRepr } from './pyexpr';
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

/** naming.newer for two names of one series: CRDS serials, else CDBS timestamps. */
export function newerName(name1: string, name2: string): boolean {
  const serial = (n: string): number | undefined => {
    const m = /_(\d{4,})\.[a-z]+$/.exec(n);
    return m ? Number(m[1]) : undefined;
  };
  const a = serial(name1);
  const b = serial(name2);
  if (a !== undefined && b !== undefined) return a > b;
  if (a !== undefined && b === undefined) return true;
  if (a === undefined && b !== undefined) return false;
  // CDBS names: the first 8 characters encode the time; the year digit 'z' (2015) precedes '0'.
  const key = (n: string): string => {
    const c = n[0];
    const year = c >= 'a' && c <= 'z' ? c : String.fromCharCode('z'.charCodeAt(0) + 1 + Number(c));
    return year + n.slice(1, 8);
  };
  return key(path.basename(name1)) > key(path.basename(name2));
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
        if (!newerName(m[2], m[1])) log.warning(`Reversion at ${at} ${msg}`);
      } else log.warning(`Unusual replacement ${at} ${msg}`);
    } else if (action === 'delete') log.warning(`Deletion at ${at} ${msg}`);
    else if (action === 'parkey_difference') log.warning(`Different lookup parameters ${at} ${msg}`);
    else if (action === 'class_difference') log.warning(`Different classes at ${at} ${msg}`);
  }
}

/** rmap.get_equivalent_mapping: the mapping of `context` playing the same role as `m`. */
function equivalentMapping(context: PipelineContext, m: Mapping): Mapping | undefined {
  if (m instanceof PipelineContext) return context;
  try {
    if (m instanceof InstrumentContext) return context.getImap(m.instrument);
    if (m instanceof ReferenceMapping) return context.getImap(m.instrument).getRmap(m.filekind);
  } catch {
    return undefined;
  }
  return undefined;
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
  if (!(counts[ext] ?? [3, 4]).includes(parts.length) || parts[0] !== opts.observatory) {
    // properties_inside_mapping: the header must name them
    // (an .imap has no filekind, so an unusual .imap name always fails)
    let inside = ext === '.pmap';
    if (ext === '.rmap') {
      try {
        const h = new Map(parseMapping(text, name).header.entries.map((e) => [e.key.t === 'str' ? e.key.v : '', e.value]));
        const sum = h.get('sha1sum');
        // the hst and jwst locators fetch it with the checksum verified; roman's does not
        const verified = opts.observatory === 'roman' || (sum?.t === 'str' && sum.v === mappingChecksum(text));
        inside = h.has('instrument') && h.has('filekind') && verified;
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
      const old = equivalentMapping(context, mapping);
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
