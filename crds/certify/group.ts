// The group check of certify (crds-rules.md §6.2 "Group check"; certify.check_rmap_updates):
// after the files of one certify run pass, all submitted references are trial-inserted, per
// (instrument, type), into that type's rmap of the context, and each resulting rmap is
// certified as a mapping (its name is the old rmap's, so there is no predecessor diff: what
// this finds are equal-weight overlaps, identical cases among the submitted files, match
// values the _ld.tpn constraints forbid, and insertion failures).
//
// Failures of the check itself (a reference whose type cannot be told, a type without an
// rmap in the context, an insertion the rmap refuses) are one ERROR "... data='Failed updating
// rmap' ::  : reason" that ends the check, as the real tool's trap does.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { AmbiguousMatchError, ValidationError } from '../errors';
import type { MappingStore } from '../mappings';
import { rmapInsertReferences, type WildcardExpansions } from '../refactor';
import { certifyMapping } from './mapping';
import { tpnValidValues } from './mapping_validate';
import { referenceHeaderForInsert, referenceProperties } from './reference';
import { pyRepr } from './pyexpr';
import { loadSpecs } from './tpn';
import type { Log } from './validators';

/** config.is_reference: a plausible reference file name. */
export function isReferenceName(file: string): boolean {
  return /^\.(fits|asdf|r\d[hd]|yaml|json|text)/.test(path.extname(file).toLowerCase());
}

let hstExpansions: WildcardExpansions | undefined;
/** crds/hst/substitutions.dat (the HST wildcard expansions of reference header values). */
export function wildcardExpansions(observatory: string): WildcardExpansions | undefined {
  if (observatory !== 'hst') return undefined; // the other observatories' files are empty
  hstExpansions ??= (JSON.parse(fs.readFileSync(path.join(__dirname, 'data', 'hst-substitutions.json'), 'utf8')) as { expansions: WildcardExpansions }).expansions;
  return hstExpansions;
}

export interface GroupCheckOptions {
  observatory: string;
  specsRoot: string;
  store: MappingStore;
  context: string;
}

export interface GroupCheckResult {
  /** the trial rmap (old rmap name), or undefined for a failure of the check itself */
  rmap?: string;
  references: string[];
  findings: { level: 'ERROR' | 'WARNING' | 'INFO'; message: string }[];
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Selector.insert's failure (a value refused by the rmap's valid values, an ambiguous match)
 * as the real one augments it, naming the file, the rmap and the header; other errors as they are.
 */
export function insertionFailure(basename: string, rmapName: string, header: Record<string, string>, e: unknown): Error {
  if (!(e instanceof ValidationError || e instanceof AmbiguousMatchError)) return e instanceof Error ? e : new Error(String(e));
  return new Error(`Failed inserting '${basename}' into rmap: '${rmapName}' with header:\n ${pformatHeader(header)} \n : ${errText(e)}`);
}

/** check_rmap_updates(observatory, context, files): one result per trial rmap. */
export function checkRmapUpdates(files: string[], opts: GroupCheckOptions, makeLog: () => { log: Log; findings: GroupCheckResult['findings'] }): GroupCheckResult[] {
  const references = files.filter(isReferenceName);
  if (!references.length) return [];
  const results: GroupCheckResult[] = [];
  const failure = makeLog();
  try {
    const specs = loadSpecs(opts.specsRoot, opts.observatory);
    const organized = new Map<string, { instrument: string; filekind: string; files: string[] }>();
    for (const file of references) {
      let props;
      try {
        props = referenceProperties(file, opts.observatory, specs, () => referenceHeaderForInsert(file).raw);
      } catch (e) {
        throw new Error(`Failed to determine '${opts.observatory}' instrument or reftype for '${file}' : '${errText(e)}'`);
      }
      const key = `${props.instrument}\u0000${props.filekind}`;
      if (!organized.has(key)) organized.set(key, { ...props, files: [] });
      organized.get(key)!.files.push(file);
    }
    const pmap = opts.store.loadContext(opts.context);
    for (const { instrument, filekind, files: group } of organized.values()) {
      const old = pmap.getImap(instrument).getRmap(filekind);
      const { log, findings } = makeLog();
      log.info(`Checking rmap update for ('${instrument}', '${filekind}') inserting files [${group.map((f) => `'${f}'`).join(', ')}]`);
      const valid = Object.fromEntries(tpnValidValues(old, specs));
      const oldText = fs.readFileSync(opts.store.locate(old.name), 'utf8');
      const inserts = group.map((f) => ({ basename: path.basename(f), header: referenceHeaderForInsert(f, old).header }));
      const insertOptions = { wildcardExpansions: wildcardExpansions(opts.observatory), validValues: valid };
      let update;
      try {
        update = rmapInsertReferences(oldText, old.name, inserts, insertOptions);
      } catch (e) {
        if (!(e instanceof ValidationError || e instanceof AmbiguousMatchError)) throw e;
        // Selector.insert's failures name the file being inserted (augment_exception)
        let failing = inserts[inserts.length - 1];
        let text = oldText;
        for (const ins of inserts) {
          try {
            text = rmapInsertReferences(text, old.name, [ins], insertOptions).text;
          } catch {
            failing = ins;
            break;
          }
        }
        throw insertionFailure(failing.basename, old.name, failing.header, e);
      }
      for (const e of update.errors) log.error(e);
      certifyMapping(path.join('/tmp', old.name), { observatory: opts.observatory, specsRoot: opts.specsRoot, store: opts.store, context: opts.context, text: update.text }, log);
      results.push({ rmap: old.name, references: group, findings });
    }
  } catch (e) {
    // the script's error_on_exception wording (no instrument or type known at this point)
    failure.log.error(`instrument='UNKNOWN' type='UNKNOWN' data='Failed updating rmap' ::  : ${errText(e)}`);
    results.push({ references, findings: failure.findings });
  }
  return results;
}

/** pprint.pformat of a header dict as the real message shows it: sorted keys, one per line when long. */
export function pformatHeader(header: Record<string, string>): string {
  const items = Object.keys(header)
    .sort()
    .map((k) => `${pyRepr(k)}: ${pyRepr(header[k])}`);
  const one = `{${items.join(', ')}}`;
  return one.length <= 80 ? one : `{${items.join(',\n ')}}`;
}
