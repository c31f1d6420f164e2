// Certify: the one implementation used by the submission workflow, `ops/manage certify` and
// the tests (crds-rules.md §6).
//
//   certifyFiles(files, options) → CertifyResult[]   one result per file, findings in order,
//                                    then (no errors so far, a context given) one per trial rmap
//                                    update of the group check (result.group set)
//   checkGroup(files, options)   → CertifyResult[]   the group check alone
//   certifyFile(file, options)   → CertifyResult
//   formatFinding(result, finding) → the real tool's log line
//
// Options: observatory (default from the file name), specsRoot (<root>/<obs>/{specs,tpns}),
// mappingsDir + context (the comparison context: rmap parkeys become required, tables are
// compared with the reference they replace, mappings with their predecessor),
// locateReference(name) → path (the catalog's copy of a reference, for table comparisons),
// referenceExists(name) → boolean (optional check that an rmap's references exist).

import * as path from 'node:path';
import { FitsFile } from '../io/fits';
import { MappingStore } from '../mappings';
import { fileFormat } from './headers';
import { annotateFitsKeywords } from './jwst';
import { certifyMapping } from './mapping';
import { certifyReference } from './reference';
import { checkRmapUpdates, isReferenceName } from './group';
import type { Finding, Log } from './validators';

export type { Finding } from './validators';
export { loadSpecs, loadTpn, loadTpnLines, ObservatorySpecs, type TpnInfo } from './tpn';
export { FitsFile, FitsError, readFitsHeaders } from '../io/fits';
export { readAsdfTree, AsdfError } from '../io/asdf';

export interface CertifyOptions {
  observatory?: string;
  specsRoot: string;
  mappingsDir?: string;
  /** context the checks are relative to (also the comparison context) */
  context?: string;
  comparisonReference?: string;
  locateReference?: (name: string) => string | undefined;
  referenceExists?: (name: string) => boolean;
  /** a store to reuse across calls (else one per call of certifyFiles) */
  store?: MappingStore;
  /** certifyFiles: run the group check (trial rmap updates); default true, as the real command */
  checkRmapUpdates?: boolean;
}

export interface CertifyResult {
  file: string;
  format: string;
  instrument?: string;
  filekind?: string;
  findings: Finding[];
  errors: number;
  warnings: number;
  seconds: number;
  /** group check results: the submitted references trial-inserted into this rmap */
  group?: { references: string[] };
}

const OBSERVATORIES = ['hst', 'jwst', 'roman', 'tobs'];

/** utils.file_to_observatory, by name (the header is asked only by the reference certifier). */
export function observatoryOfName(file: string): string | undefined {
  const base = path.basename(file).toLowerCase();
  return OBSERVATORIES.find((o) => base.startsWith(`${o}_`) || base.includes(`_${o}.`) || base === `${o}.pmap`);
}

function collector(observatory: string): { log: Log; findings: Finding[] } {
  const findings: Finding[] = [];
  const annotate = observatory === 'jwst' ? annotateFitsKeywords : (m: string): string => m;
  return {
    findings,
    log: {
      error: (m) => findings.push({ level: 'ERROR', message: annotate(m) }),
      warning: (m) => findings.push({ level: 'WARNING', message: annotate(m) }),
      info: (m) => findings.push({ level: 'INFO', message: annotate(m) }),
    },
  };
}

export function certifyFile(file: string, options: CertifyOptions): CertifyResult {
  const start = process.hrtime.bigint();
  const format = fileFormat(file);
  const observatory = options.observatory ?? observatoryOfName(file) ?? observatoryOfTelescope(file, format) ?? observatoryOfFormat(format) ?? observatoryOfContext(options.context) ?? 'hst';
  const { log, findings } = collector(observatory);
  const store = options.store ?? (options.mappingsDir ? new MappingStore(options.mappingsDir, { ignoreChecksum: 'warn' }) : undefined);
  try {
    if (format === 'mapping') {
      certifyMapping(file, { observatory, specsRoot: options.specsRoot, store, context: options.context, referenceExists: options.referenceExists }, log);
    } else if (format === 'unknown' || format === 'text') {
      log.warning(`No certifier defined for ${JSON.stringify(path.basename(file)).replace(/"/g, "'")}`);
    } else {
      certifyReference(file, { observatory, specsRoot: options.specsRoot, store, context: options.context, comparisonReference: options.comparisonReference, locateReference: options.locateReference }, log);
    }
  } catch (e) {
    log.error(`Validation error : ${e instanceof Error ? e.message : String(e)}`);
  }
  return {
    file,
    format,
    findings,
    errors: findings.filter((f) => f.level === 'ERROR').length,
    warnings: findings.filter((f) => f.level === 'WARNING').length,
    seconds: Number(process.hrtime.bigint() - start) / 1e9,
  };
}

/** The observatory of a file: by name, else (FITS) by its TELESCOP keyword. */
export function fileObservatory(file: string): string | undefined {
  const format = fileFormat(file);
  return observatoryOfName(file) ?? observatoryOfTelescope(file, format) ?? observatoryOfFormat(format);
}

/** factory.get_observatory: GEIS (and other non-FITS, non-ASDF) files default to HST. */
function observatoryOfFormat(format: string): string | undefined {
  return format === 'geis' ? 'hst' : undefined;
}

/** factory.get_observatory for FITS files with uninformative names: the TELESCOP keyword. */
function observatoryOfTelescope(file: string, format: string): string | undefined {
  if (format !== 'fits') return undefined;
  try {
    const f = FitsFile.open(file, { maxHdus: 1 });
    try {
      const t = f.hdus[0].get('TELESCOP');
      return typeof t === 'string' && OBSERVATORIES.includes(t.trim().toLowerCase()) ? t.trim().toLowerCase() : undefined;
    } finally {
      f.close();
    }
  } catch {
    return undefined;
  }
}

function observatoryOfContext(context?: string): string | undefined {
  return context ? observatoryOfName(context) : undefined;
}

export function certifyFiles(files: string[], options: CertifyOptions): CertifyResult[] {
  const store = options.store ?? (options.mappingsDir ? new MappingStore(options.mappingsDir, { ignoreChecksum: 'warn' }) : undefined);
  const results = files.map((f) => certifyFile(f, { ...options, store }));
  // certify_files: the rmap update check runs only when the files certified without errors
  if (options.checkRmapUpdates !== false && !results.some((r) => r.errors > 0)) results.push(...checkGroup(files, { ...options, store }));
  return results;
}

/**
 * The group check (certify.check_rmap_updates): the references among `files` trial-inserted
 * into their rmaps of `options.context`, each updated rmap certified. Needs a context and
 * mappings; without them nothing is checked.
 */
export function checkGroup(files: string[], options: CertifyOptions): CertifyResult[] {
  const store = options.store ?? (options.mappingsDir ? new MappingStore(options.mappingsDir, { ignoreChecksum: 'warn' }) : undefined);
  const refs = files.filter(isReferenceName);
  if (!store || !options.context || !refs.length) return [];
  const start = process.hrtime.bigint();
  const observatory = options.observatory ?? observatoryOfName(refs[0]) ?? observatoryOfTelescope(refs[0], fileFormat(refs[0])) ?? observatoryOfContext(options.context) ?? 'hst';
  const groups = checkRmapUpdates(refs, { observatory, specsRoot: options.specsRoot, store, context: options.context }, () => collector(observatory));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return groups.map((g) => ({
    file: g.rmap ?? 'rmap update check',
    format: 'mapping',
    findings: g.findings,
    errors: g.findings.filter((f) => f.level === 'ERROR').length,
    warnings: g.findings.filter((f) => f.level === 'WARNING').length,
    seconds: seconds / groups.length,
    group: { references: g.references },
  }));
}

/** A finding as the real command prints it (errors carry the file; warnings do not). */
export function formatFinding(result: CertifyResult, f: Finding): string {
  if (f.level === 'ERROR') return `CRDS - ERROR - In ${JSON.stringify(path.basename(result.file)).replace(/"/g, "'")} : ${f.message}`;
  return `CRDS - ${f.level} - ${f.message}`;
}
