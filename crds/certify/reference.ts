// Reference file certification (crds-rules.md §6.2; crds.certify.certify.ReferenceCertifier):
// constraints from the .tpn files of the file's instrument and type, rmap parkeys made
// required, the header mapped to dataset keywords, arrays described for A/D constraints,
// table columns checked, unique-row-key (mode) checks against the reference being replaced.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { FitsError, FitsFile } from '../io/fits';
import { checksumWarnings, primaryVerifyErrors, tdispWarnings, truncationWarnings } from '../io/fits-checks';
import { readImageData } from '../io/fits-image';
import { readGeisHeader } from '../io/geis';
import type { CellValue } from '../io/fits-tables';
import type { PyValue as AstValue } from '../ast';
import type { MappingStore, ReferenceMapping } from '../mappings';
import { JWST_PATTERN_TRANSLATIONS } from '../jwst-keywords';
import { diffAction, mappingDifferences } from '../diff';
import { insertionFailure, wildcardExpansions } from './group';
import { tpnValidValues } from './mapping_validate';
import { rmapInsertReferences } from '../refactor';
import { reformatDate } from '../timestamp';
import {
  arrayStruct,
  fileFormat,
  fitsArrayProperties,
  fitsHeaderItems,
  loadFitsTables,
  reduceHeader,
  treeHeaderItems,
  type FileFormat,
  type LoadedTable,
} from './headers';
import { AsdfError, type TreeValue } from '../io/asdf';
import { guessAsdfDataModel, guessFitsDataModel, JWST_STATIC_PAIRS, jwstDmToFits, jwstFitsToDm } from './jwst';
import { PyStruct, pyRepr, type PyValue } from './pyexpr';
import { loadSpecs, type ObservatorySpecs } from './tpn';
import './synphot'; // registers the SYNPHOT special validators
import { CheckError, makeValidator, type CertifiedFile, type EvalHeader, type Log, type Validator } from './validators';

export interface ReferenceCertifyOptions {
  observatory: string;
  specsRoot: string;
  /** the mappings of the context; without them rmap parkeys and comparisons are skipped */
  store?: MappingStore;
  context?: string;
  /** path of a comparison reference for table mode checks (else found in the context) */
  comparisonReference?: string;
  /** where the catalog keeps a named reference, or undefined when it cannot provide it */
  locateReference?: (name: string) => string | undefined;
}

export interface FileProperties {
  instrument: string;
  filekind: string;
}

const JWST_FILEKIND_KEYWORDS = ['REFTYPE', 'TYPE', 'META.REFTYPE'];

/** (instrument, filekind) of a reference from its name or, failing that, its header. */
export function referenceProperties(filepath: string, observatory: string, specs: ObservatorySpecs, header: () => Map<string, string>): FileProperties {
  const base = path.basename(filepath);
  const ext = path.extname(base);
  const parts = base.slice(0, base.length - ext.length).split('_');
  const known = (i: string, k: string): boolean => !!specs.types[i]?.[k];
  if (parts[0] === observatory && (parts.length === 3 || parts.length === 4) && known(parts[1], parts[2])) {
    return { instrument: parts[1], filekind: parts[2] };
  }
  if (observatory === 'hst') {
    const cdbs = hstCdbsProperties(base, specs);
    if (cdbs) return cdbs;
    const h = header();
    let instrument: string;
    if (!h.has('DBTABLE') || h.get('DBTABLE') === 'IMPHTTAB') {
      const ins = h.get('INSTRUME');
      if (ins === undefined) {
        throw new CheckError(`Can't determine instrument for '${base}'. CAL references must define INSTRUME, SYNPHOT references define DBTABLE.`);
      }
      instrument = ins.toLowerCase();
    } else instrument = 'synphot';
    if (instrument === 'nic') instrument = 'nicmos';
    const filetype = h.get('FILETYPE') ?? h.get('DBTABLE') ?? h.get('CDBSFILE');
    if (filetype === undefined) throw new CheckError(`Can't determine HST file type for '${base}'. Check FILETYPE, CDBSFILE, DBTABLE, TELESCOP, and/or TELESCOPE.`);
    const filekind = specs.filetypeToFilekind(instrument, filetype.toLowerCase());
    if (!filekind) throw new CheckError(`Invalid FILETYPE (or CDBSFILE) of '${filetype.toLowerCase()}' for instrument '${instrument}'.`);
    return { instrument, filekind };
  }
  const h = header();
  const instrument = (h.get('META.INSTRUMENT.NAME') ?? h.get('INSTRUME') ?? h.get('ROMAN.META.INSTRUMENT.NAME') ?? '').toLowerCase();
  if (!instrument || !specs.types[instrument]) {
    throw new CheckError(`Can't identify instrument of '${base}' : ${instrument ? `Invalid instrument '${instrument}'` : 'No instrument keyword defined in header.'}`);
  }
  const kindKey = [...JWST_FILEKIND_KEYWORDS, 'ROMAN.META.REFTYPE'].find((k) => h.has(k));
  const filekind = (kindKey ? h.get(kindKey)! : 'UNDEFINED').toLowerCase();
  if (!specs.types[instrument][filekind] && !Object.values(specs.types).some((k) => k[filekind])) {
    throw new CheckError(`Can't identify REFTYPE of '${base}'`);
  }
  return { instrument, filekind };
}

const CDBS_ID: Record<string, string> = { j: 'acs', o: 'stis', n: 'nicmos', u: 'wfpc2', i: 'wfc3', l: 'cos', m: 'synphot' };

/** hst.locate.GEIS_EXT_TO_SUFFIX */
const GEIS_EXT_TO_SUFFIX: Record<string, string> = { r0: 'msk', r1: 'a2d', r2: 'bas', r3: 'drk', r4: 'flt', r5: 'shd', r6: 'flt', r7: 'w4t' };

function hstCdbsProperties(base: string, specs: ObservatorySpecs): FileProperties | undefined {
  const m = /^([a-z0-9]{9})_([a-z0-9]+)\.fits$/.exec(base);
  const synphot = [['_syn.fits', 'thruput'], ['_th.fits', 'thermal'], ['_tmt.fits', 'tmttab'], ['_tmg.fits', 'tmgtab'], ['_tmc.fits', 'tmctab']];
  const parts = base.split(/[_.]/);
  if (parts.length >= 3 && ['syn', 'th'].includes(parts[parts.length - 2])) {
    return { instrument: 'synphot', filekind: synphot.find(([s]) => base.endsWith(s))![1] };
  }
  const geis = /^([^_.]*)[^.]*\.(r\d)[hd]$/.exec(base);
  if (geis) {
    // GEIS_EXT_TO_SUFFIX: the extension names the type; the root's last character the instrument
    const instrument = CDBS_ID[geis[1].slice(-1).toLowerCase()];
    const suffix = GEIS_EXT_TO_SUFFIX[geis[2]];
    const filekind = instrument && suffix ? specs.suffixToFilekind(instrument, suffix) : undefined;
    return instrument && filekind ? { instrument, filekind } : undefined;
  }
  if (!m) return undefined;
  const instrument = CDBS_ID[m[1].slice(-1)];
  if (!instrument) return undefined;
  if (instrument === 'synphot') {
    const kind = synphot.find(([s]) => base.endsWith(s));
    return kind ? { instrument, filekind: kind[1] } : undefined;
  }
  const filekind = specs.suffixToFilekind(instrument, m[2]);
  return filekind ? { instrument, filekind } : undefined;
}

// ---------------------------------------------------------------------------------------------


type RawHeader = Map<string, string | string[]>;

/** JWST cross strapping: each FITS keyword and its data-model path carry the same value. */
function crossStrapJwst(h: RawHeader): void {
  const pairs: [string, string][] = [...JWST_STATIC_PAIRS];
  for (const key of [...h.keys()]) {
    const fitsKey = jwstDmToFits(key) ?? key;
    const dmKey = jwstFitsToDm(key) ?? key;
    pairs.push([fitsKey, dmKey], [dmKey, fitsKey]);
  }
  for (const [a, b] of pairs) {
    const av = h.get(a);
    if ((h.get(b) ?? 'UNDEFINED') === 'UNDEFINED' && av !== undefined && av !== 'UNDEFINED') h.set(b, av);
  }
}

function pyReprOpt(v: string | string[] | undefined): string {
  return v === undefined ? 'None' : Array.isArray(v) ? `(${v.map((x) => pyRepr(x)).join(', ')})` : pyRepr(v);
}

/**
 * The locators' pattern translation: each reference keyword of `translations` present and
 * defined sets its dataset keyword (to value(v): Roman upper-cases); P_ keywords that have no
 * translation are warned about.
 */
function translatePatterns(header: RawHeader, translations: Record<string, string>, log: Log | undefined, value: (v: string | string[]) => string | string[]): void {
  for (const key of header.keys()) {
    if (key.split('.').pop()!.startsWith('P_') && !(key in translations)) {
      log?.warning(`CRDS-pattern-like keyword ${pyRepr(key)} w/o CRDS translation to corresponding dataset keyword.`);
    }
  }
  for (const rkey of Object.keys(translations).sort()) {
    if (!header.has(rkey)) continue;
    const dkey = translations[rkey];
    const dval = header.get(dkey);
    const rval = header.get(rkey)!;
    if (rval !== 'UNDEFINED' && rval !== dval) {
      log?.info(`Setting ${pyRepr(dkey)} = ${pyReprOpt(dval)} to value of ${pyRepr(rkey)} = ${pyReprOpt(rval)}`);
      header.set(dkey, value(rval));
    }
  }
}

/**
 * The USEAFTER of any observatory's header, reformatted 'YYYY-MM-DD HH:MM:SS[.ffffff]'
 * (timestamp.reformat_useafter: every form timestamp.parse_date accepts, crds/timestamp.ts).
 */
function formattedUseafter(header: RawHeader): string {
  const ua = String(header.get('USEAFTER') ?? header.get('META.USEAFTER') ?? header.get('ROMAN.META.USEAFTER') ?? 'UNDEFINED');
  try {
    return reformatDate(ua);
  } catch {
    throw new CheckError(`Bad USEAFTER time format = ${pyRepr(ua)}`);
  }
}

/** locate.reference_keys_to_dataset_keys */
function referenceKeysToDatasetKeys(observatory: string, h: RawHeader, rmap: ReferenceMapping | undefined, log: Log): RawHeader {
  const header = new Map(h);
  const setUseafter = (dateKeys: string[], timeKeys: string[]): void => {
    const [d, t] = formattedUseafter(header).split(' ');
    for (const k of dateKeys) header.set(k, d);
    for (const k of timeKeys) header.set(k, t);
  };
  if (observatory === 'hst') {
    if (header.has('USEAFTER')) setUseafter(['DATE-OBS', 'DATE_OBS'], ['TIME-OBS', 'TIME_OBS']);
    return header;
  }
  if (observatory === 'roman') return romanReferenceKeysToDatasetKeys(header, rmap?.name ?? '', r2dOf(rmap), log);
  if (observatory !== 'jwst') return header;
  const translations: Record<string, string> = { ...JWST_PATTERN_TRANSLATIONS };
  const r2d = rmap?.header?.reference_to_dataset;
  if (r2d?.t === 'dict') {
    for (const e of r2d.entries) if (e.key.t === 'str' && e.value.t === 'str') translations[e.key.v.toUpperCase()] = e.value.v.toUpperCase();
  }
  translatePatterns(header, translations, log, (v) => v);
  crossStrapJwst(header);
  if (!header.has('SUBARRAY')) {
    header.set('SUBARRAY', 'UNDEFINED');
    header.set('META.SUBARRAY.NAME', 'UNDEFINED');
  }
  if (!header.has('EXP_TYPE')) {
    header.set('EXP_TYPE', 'UNDEFINED');
    header.set('META.EXPOSURE.TYPE', 'UNDEFINED');
  }
  if (!header.has('USEAFTER') && header.has('META.USEAFTER')) header.set('USEAFTER', header.get('META.USEAFTER')!);
  if (header.has('USEAFTER')) setUseafter(['DATE-OBS', 'META.OBSERVATION.DATE'], ['TIME-OBS', 'META.OBSERVATION.TIME']);
  return header;
}

/** An rmap's reference_to_dataset header field (reference keyword -> dataset keyword). */
function r2dOf(rmap: ReferenceMapping | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const r2d = rmap?.header?.reference_to_dataset;
  if (r2d?.t === 'dict') {
    for (const e of r2d.entries) if (e.key.t === 'str' && e.value.t === 'str') out[e.key.v.toUpperCase()] = e.value.v.toUpperCase();
  }
  return out;
}

/**
 * roman.locate.reference_keys_to_dataset_keys: pattern keywords (P_DETECTOR, ...) to their
 * dataset keywords, SSC (IPAC/SSC-made) headers re-rooted under ROMAN.META and converted,
 * SUBARRAY.NAME and EXPOSURE.TYPE defaulted, and the USEAFTER as ROMAN.META.EXPOSURE.START_TIME.
 * Parameter reference types (a '-' in the rmap name, pars-*) use META rather than ROMAN.META.
 */
export function romanReferenceKeysToDatasetKeys(input: RawHeader, rmapName: string, referenceToDataset: Record<string, string>, log?: Log): RawHeader {
  let header: RawHeader = new Map(input);
  const prefix = rmapName.split('-').length > 1 ? 'META' : 'ROMAN.META';
  let translations: Record<string, string> = {
    [`${prefix}.EXPOSURE.P_EXPTYPE`]: `${prefix}.EXPOSURE.TYPE`,
    [`${prefix}.INSTRUMENT.P_DETECTOR`]: `${prefix}.INSTRUMENT.DETECTOR`,
    [`${prefix}.INSTRUMENT.P_OPTICAL_ELEMENT`]: `${prefix}.INSTRUMENT.OPTICAL_ELEMENT`,
  };
  const origin = header.get('ROMAN.META.ORIGIN') ?? header.get('META.ORIGIN');
  const ssc = origin === 'IPAC/SSC';
  if (ssc) {
    const meta: RawHeader = new Map([...header].filter(([k]) => k.startsWith('ROMAN.META')));
    for (const [k, v] of header) if (k.startsWith('META.')) meta.set(`ROMAN.${k}`, v);
    header = meta;
    translations = {
      [`${prefix}.INSTRUMENT`]: `${prefix}.INSTRUMENT.NAME`,
      [`${prefix}.OPTICAL_ELEMENT`]: `${prefix}.INSTRUMENT.OPTICAL_ELEMENT`,
      [`${prefix}.DETECTOR`]: `${prefix}.INSTRUMENT.DETECTOR`,
      [`${prefix}.ORIGIN`]: 'SSC',
    };
  }
  Object.assign(translations, referenceToDataset);
  translatePatterns(header, translations, log, (v) => {
    if (Array.isArray(v)) throw new CheckError("'tuple' object has no attribute 'upper'");
    return v.toUpperCase();
  });
  if (!header.has(`${prefix}.SUBARRAY.NAME`)) header.set(`${prefix}.SUBARRAY.NAME`, 'UNDEFINED');
  if (!header.has(`${prefix}.EXPOSURE.TYPE`)) header.set(`${prefix}.EXPOSURE.TYPE`, 'UNDEFINED');
  if (ssc) {
    // apply_ssc_conversions
    const pfx = 'ROMAN.META';
    const instr = header.get(`${pfx}.INSTRUMENT.NAME`);
    if (header.get(`${pfx}.EXPOSURE.TYPE`) === 'UNDEFINED') {
      const optelem = header.get(`${pfx}.INSTRUMENT.OPTICAL_ELEMENT`);
      if (instr && optelem) header.set(`${pfx}.EXPOSURE.TYPE`, `${String(instr).toUpperCase()}_${String(optelem).toUpperCase()}`);
    }
    const detector = header.get(`${pfx}.INSTRUMENT.DETECTOR`);
    if (instr === undefined) throw new CheckError("'NoneType' object has no attribute 'lower'");
    if (String(instr).toLowerCase() === 'wfi') {
      if (detector === undefined) throw new CheckError("'NoneType' object has no attribute 'split'");
      if (String(detector).split(',').length === 18) header.set(`${pfx}.INSTRUMENT.DETECTOR`, 'N/A');
    }
  }
  if (header.has(`${prefix}.USEAFTER`)) header.set('ROMAN.META.EXPOSURE.START_TIME', formattedUseafter(header));
  return header;
}

/** convert_to_eval_header: numbers back from strings, dotted paths also as underscores. */
function toEvalHeader(h: Map<string, PyValue>): EvalHeader {
  const out: EvalHeader = new Map();
  for (const [k, v] of h) {
    let val: PyValue = v;
    if (typeof v === 'string') {
      const t = v.trim().replace(/_/g, '');
      if (/^[+-]?\d+$/.test(t) && !/^[+-]?_|_$/.test(v.trim())) val = Number(t);
      else if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v.trim())) val = Number(v.trim());
      else if (/^[+-]?(inf|infinity|nan)$/i.test(v.trim())) val = /nan/i.test(v) ? NaN : v.trim().startsWith('-') ? -Infinity : Infinity;
    }
    out.set(k, val);
  }
  for (const [k, v] of [...out]) {
    const clean = k.replace(/([A-Za-z][A-Za-z0-9_]*)\./g, '$1_');
    out.set(clean, v);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

interface Loaded {
  raw: Map<string, string>; // for naming
  header: RawHeader;
  fits?: FitsFile;
  tables: LoadedTable[];
  asdfVersion?: string;
  /** ASDF, JSON and YAML: the tree (the ASDF certifier's asdf_library check) */
  tree?: TreeValue;
  /** the ASDF reader's logged history error */
  historyError?: string;
  /** why the tables cannot be read (a table HDU cut short) */
  tablesError?: string;
}

function loadRaw(filepath: string, format: FileFormat): Loaded {
  if (format === 'fits') {
    const f = FitsFile.open(filepath);
    const header = reduceHeader(fitsHeaderItems(f));
    return { raw: header, header: new Map(header), fits: f, tables: [] };
  }
  if (format === 'geis') {
    const header = reduceHeader(readGeisHeader(filepath));
    return { raw: header, header: new Map(header), tables: [] };
  }
  if (format === 'asdf' || format === 'json' || format === 'yaml') {
    const { items, asdfVersion, tree, historyError } = treeHeaderItems(filepath, format);
    const raw = new Map<string, string>();
    for (const [k, v] of items) raw.set(k, Array.isArray(v) ? `(${v.map((x) => pyRepr(x)).join(', ')})` : v);
    return { raw, header: items, tables: [], asdfVersion, tree, historyError };
  }
  throw new CheckError(`Unsupported reference format ${pyRepr(format)}`);
}

function tupleRepr(v: string | string[]): PyValue {
  return Array.isArray(v) ? `(${v.map((x) => pyRepr(x)).join(', ')}${v.length === 1 ? ',' : ''})` : v;
}

function cellKey(v: CellValue): string {
  if (typeof v === 'number' && Number.isNaN(v)) return 'nan';
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : typeof x === 'number' && Number.isNaN(x) ? 'nan' : x));
}

/** table_mode_dictionary: modes (unique row key values) → first row; duplicates warned. */
function modeDictionary(genericName: string, basename: string, tab: LoadedTable, modeKeys: string[], log: Log): Map<string, CellValue[]> {
  const label = pyRepr(`${basename}[${tab.segment}]`);
  const present = modeKeys.filter((k) => tab.colnames.includes(k));
  const modes = new Map<string, { display: string; rows: number[]; row: CellValue[] }>();
  if (tab.rows.length && present.length === 0) return new Map();
  tab.rows.forEach((row, i) => {
    const mode = present.map((k) => cellKey(row[tab.colnames.indexOf(k)]));
    const key = mode.join('\u0000');
    const entry = modes.get(key);
    if (entry) entry.rows.push(i);
    else modes.set(key, { display: `(${present.map((k, j) => `(${pyRepr(k)}, ${mode[j]})`).join(', ')})`, rows: [i], row });
  });
  for (const [, m] of [...modes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (m.rows.length > 1) log.warning(`Duplicate definitions in ${genericName} ${label} for mode: ${m.display} :`);
  }
  return new Map([...modes].map(([k, m]) => [k, m.row]));
}

/** utils.file_to_instrument by name: "_<instrument>_" in the name, or the name starts "<instrument>_". */
function nameNamesInstrument(basename: string, specsRoot: string): boolean {
  const name = basename.toLowerCase();
  for (const obs of ['hst', 'jwst', 'roman']) {
    let instruments: string[];
    try {
      instruments = loadSpecs(specsRoot, obs).instruments();
    } catch {
      continue;
    }
    if (instruments.some((i) => name.includes(`_${i}_`) || name.startsWith(`${i}_`))) return true;
  }
  return false;
}

/** Certify one reference file; findings go to `log`. */
export function certifyReference(filepath: string, opts: ReferenceCertifyOptions, log: Log): void {
  const specs = loadSpecs(opts.specsRoot, opts.observatory);
  const format = fileFormat(filepath);
  const basename = path.basename(filepath);
  let loaded: Loaded | undefined;
  let loadError: unknown;
  const lazyRaw = (): Map<string, string> => {
    if (!loaded && !loadError) {
      try {
        loaded = loadRaw(filepath, format);
      } catch (e) {
        loadError = e;
      }
    }
    if (!loaded) throw loadError;
    return loaded.raw;
  };
  try {
    // utils.file_to_observatory: a FITS file whose name names no instrument has every HDU
    // header read before it is certified; when astropy cannot read them, that failure is the
    // file's only finding (a "Validation error", after what astropy warned about)
    if (format === 'fits' && !nameNamesInstrument(basename, opts.specsRoot)) {
      try {
        lazyRaw();
      } catch (e) {
        if (e instanceof FitsError) for (const w of e.warnings) log.warning(`${w.category} : ${w.module} : ${w.message}`);
        throw e;
      }
    }
    const { instrument, filekind } = referenceProperties(filepath, opts.observatory, specs, lazyRaw);
    let rmap: ReferenceMapping | undefined;
    // get_corresponding_rmap's failure (an instrument or type the context lacks, or declares
    // N/A): verbose while mapping keywords, a warning in the comparison lookup, and for FITS and
    // ASDF files the final project check's "Validation error".
    let rmapError: string | undefined;
    try {
      if (opts.store && opts.context) rmap = opts.store.loadContext(opts.context).getImap(instrument).getRmap(filekind);
    } catch (e) {
      rmap = undefined;
      rmapError = errText(e);
    }
    // The FITS and ASDF certifiers' last steps: the rmap (get_corresponding_rmap) and the
    // observatory's project_check; for JWST that opens the file with its data models, which
    // first refuse a name without a .fits or .asdf suffix (the schema validation that follows
    // is the Python data models' own, not done here).
    const projectCheck = (): void => {
      if (format !== 'fits' && format !== 'asdf') return;
      if (rmapError !== undefined) log.error(`Validation error : ${rmapError}`);
      else if (rmap && opts.observatory === 'jwst' && !filekind.startsWith('pars-')) {
        const problem = datamodelsFileTypeProblem(filepath);
        if (problem) {
          log.error(`Validation error : JWST Data Models: ${problem}`);
          return;
        }
        // the data models read every HDU's data: one the file holds only in part fails the open
        const cut = loaded?.fits?.hdus.find((h) => h.dataOffset + h.dataSize > loaded!.fits!.size);
        if (cut) {
          const held = Math.max(0, loaded!.fits!.size - cut.dataOffset);
          log.error(`Validation error : JWST Data Models: cannot reshape array of size ${held} into shape (${cut.shape.join(', ')}${cut.shape.length === 1 ? ',' : ''})`);
          return;
        }
        // the class the data models open it as (the schema validation that follows is theirs)
        const guess = loaded?.fits ? guessFitsDataModel(filepath, loaded.fits) : loaded?.tree !== undefined ? guessAsdfDataModel(filepath, loaded.tree) : undefined;
        if (guess?.warning) log.warning(`NoTypeWarning : stdatamodels.jwst.datamodels.util : ${guess.warning}`);
        if (guess?.error) log.error(`Validation error : JWST Data Models: ${guess.error}`);
      }
    };
    const parkeys = new Set(rmap ? rmap.getRequiredParkeys() : []);
    let validators: Validator[] = specs.tpnInfos(instrument, filekind, 'tpn').map(makeValidator);
    validators = validators.map((v) => (v.optional && parkeys.has(v.name) ? v.requiredCopy() : v));
    const modeColumns = specs.rowKeys(instrument, filekind);

    // Load the header ("Error loading" in the real tool).
    let header: EvalHeader;
    try {
      if (format === 'fits' && !basename.endsWith('.fits')) return; // FITS verify skipped, nothing checked
      lazyRaw();
      const l = loaded!;
      if (l.fits) {
        if (l.fits.hdus.some((h) => h.name === 'ASDF')) log.error('FITS files must not include an ASDF extension');
        log.info(`FITS file ${pyRepr(basename)} conforms to FITS standards.`);
        // what astropy warns about while the real tool opens the file (checksums verified)
        const warnings = [...truncationWarnings(l.fits), ...l.fits.walkWarnings];
        try {
          warnings.push(...checksumWarnings(l.fits), ...tdispWarnings(l.fits));
        } catch (e) {
          // the open itself fails: the table lookup of the mode columns fails first, then loading
          for (const w of warnings) log.warning(`${w.category} : ${w.module} : ${w.message}`);
          if (modeColumns.length) log.error(`Error finding unique row keys for ${pyRepr(basename)} : ${errText(e)}`);
          throw e;
        }
        for (const w of warnings) log.warning(`${w.category} : ${w.module} : ${w.message}`);
        // verify('exception'), after what astropy warned about while opening
        const verifyErrors = primaryVerifyErrors(l.fits);
        if (verifyErrors.length) {
          throw new FitsError(`\nVerification reported errors:\nHDU 0:\n${verifyErrors.map((e) => `    ${e}`).join('\n')}\nNote: astropy.io.fits uses zero-based indexing.\n`);
        }
        l.header.set('FILE_FORMAT', 'FITS');
      } else l.header.set('FILE_FORMAT', format.toUpperCase());
      if (l.historyError) log.error(l.historyError);
      if (opts.observatory === 'jwst') crossStrapJwst(l.header);
      // map_ref_keys_to_dataset_keys: only with the rmap; a failure is reported and the
      // header goes on unmapped
      let mapped: RawHeader = l.header;
      if (rmap) {
        try {
          mapped = referenceKeysToDatasetKeys(opts.observatory, l.header, rmap, log);
        } catch (e) {
          log.error(`Error mapping reference names and values to dataset names and values : ${errText(e)}`);
        }
      }
      const withArrays = new Map<string, PyValue>([...mapped].map(([k, v]) => [k, tupleRepr(v)]));
      const arrayValidators = validators.filter((v) => v.info.keytype === 'A' || v.info.keytype === 'D');
      for (const v of arrayValidators) {
        const name = v.complexName;
        const have = withArrays.get(name);
        if (have === 'UNDEFINED') continue;
        // a D constraint needs the pixels (DATA); an A one only the description
        const wantsData = v.info.keytype === 'D';
        if (have instanceof PyStruct && !(wantsData && have.attrs.DATA === null)) continue;
        if (have !== undefined && !(have instanceof PyStruct)) continue;
        const props = l.fits ? fitsArrayProperties(l.fits, v.name) : undefined;
        if (!props) {
          withArrays.set(name, 'UNDEFINED');
          continue;
        }
        const struct = arrayStruct(props);
        if (wantsData && props.kind === 'IMAGE') struct.attrs.DATA = readImageData(l.fits!, l.fits!.hdus[props.extension]).values;
        withArrays.set(name, struct);
      }
      const seen = new Set<string>();
      header = toEvalHeader(withArrays);
      for (const v of arrayValidators) {
        if ((header.get(v.complexName) ?? 'UNDEFINED') !== 'UNDEFINED' || seen.has(v.complexName)) continue;
        header.set(v.complexName, 'UNDEFINED');
        try {
          v.handleMissing(header, { log });
        } catch {
          log.error(`Missing required array ${pyRepr(v.name)}`);
          seen.add(v.complexName);
        }
      }
      for (const v of validators) if ((header.get(v.complexName) ?? null) === null) header.set(v.complexName, 'UNDEFINED');
      if (l.fits && (validators.some((v) => v.info.keytype === 'C') || modeColumns.length)) {
        // astropy keeps an HDU whose data is cut short; reading its table fails (numpy's words)
        const f = l.fits;
        if (f.hdus.some((h) => (h.kind === 'BINTABLE' || h.kind === 'TABLE') && h.dataOffset + h.dataSize > f.size)) l.tablesError = 'buffer is too small for requested array';
        else l.tables = loadFitsTables(f);
      }
    } catch (e) {
      if (e instanceof FitsError && e === loadError) for (const w of e.warnings) log.warning(`${w.category} : ${w.module} : ${w.message}`);
      log.error(`Error loading : ${errText(e)}`);
      // the JWST data models then fail to open the file the same way
      if (e instanceof FitsError && e === loadError && rmap && rmapError === undefined && opts.observatory === 'jwst' && !filekind.startsWith('pars-')) {
        log.error(`Validation error : JWST Data Models: ${errText(e)}`);
        return;
      }
      // and the JWST and Roman data models cannot open an ASDF file the asdf library cannot
      if (e instanceof AsdfError && e === loadError && format === 'asdf' && (opts.observatory === 'jwst' || opts.observatory === 'roman')) {
        log.error(`Validation error : ${errText(e)}`);
        return;
      }
      projectCheck();
      return;
    }
    const l = loaded!;
    const tables = {
      columnValues(name: string): PyValue[][] | undefined {
        if (l.tablesError) throw new CheckError(l.tablesError);
        const out: PyValue[][] = [];
        for (const t of l.tables) {
          const i = t.colnames.indexOf(name.toUpperCase());
          if (i >= 0) out.push(t.rows.map((r) => cellToPy(r[i])));
        }
        return out.length ? out : undefined;
      },
    };
    const file: CertifiedFile = {
      path: filepath,
      fits: l.fits,
      context: opts.context,
      contextSelections: (instrument, filekind) => (opts.store && opts.context ? rmapSelections(opts.store.loadContext(opts.context).getImap(instrument).getRmap(filekind)) : undefined),
      locateFile: opts.locateReference,
    };
    for (const v of validators) {
      try {
        v.check(header, { log, tables, file });
      } catch (e) {
        if (!(e instanceof CheckError)) throw e;
        const presence = v.isApplicable(header, log);
        if (presence === 'W') log.warning(`Checking ${pyRepr(v.info.name)} failed: ${e.message}`);
        else log.error(`Checking ${pyRepr(v.info.name)} : ${e.message}`);
      }
    }
    if (modeColumns.length && l.fits) {
      try {
        certifyReferenceModes(filepath, l, modeColumns, rmap, rmapError, opts, log);
      } catch (e) {
        log.error(`Checking reference modes for ${pyRepr(filepath)} : ${errText(e)}`);
      }
    }
    if (format === 'asdf') {
      // AsdfCertifier: a library version that is not N.N.N is a development build
      const lib = treeGet(l.tree, 'asdf_library');
      if (lib === undefined) throw new CheckError("'asdf_library'");
      const version = treeGet(lib, 'version');
      if (version === undefined) throw new CheckError("'version'");
      if (!/^[0-9]+\.[0-9]+\.[0-9]+$/.test(String(version))) log.warning(`File written with dev version of asdf library: ${String(version)}`);
    }
    try {
      checkAsdfStandardVersion(filepath, l, opts);
    } catch (e) {
      // the requirement not met is logged as it is; a failure to check is an error_on_exception
      if (e instanceof AsdfRequirementError) log.error(e.message);
      else log.error(`Checking ASDF Standard version for ${pyRepr(filepath)} : ${errText(e)}`);
    }
    projectCheck();
  } catch (e) {
    if (e instanceof CheckError || e instanceof FitsError || e instanceof Error) log.error(`Validation error : ${errText(e)}`);
    else throw e;
  } finally {
    loaded?.fits?.close();
  }
}

/**
 * selector.todict()["selections"] of an rmap: [key, file] in rmap order; tuple keys as arrays,
 * a one-parameter Match key as its string (fix_singleton_match_case); nested selectors skipped.
 */
function rmapSelections(rmap: ReferenceMapping): [PyValue, string][] {
  const sel = rmap.ast.selector;
  const dict = sel.t === 'call' ? sel.arg : sel;
  const plain = (k: AstValue): PyValue =>
    k.t === 'str' ? k.v : k.t === 'int' || k.t === 'float' ? k.v : k.t === 'tuple' || k.t === 'list' ? k.items.map(plain) : null;
  const out: [PyValue, string][] = [];
  for (const e of dict.entries) {
    if (e.value.t !== 'str') continue;
    let key = plain(e.key);
    if (Array.isArray(key) && key.length === 1) key = key[0];
    out.push([key, e.value.v]);
  }
  return out;
}

function cellToPy(v: CellValue): PyValue {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(cellToPy);
  return v as PyValue;
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function certifyReferenceModes(
  filepath: string,
  l: Loaded,
  modeColumns: string[],
  rmap: ReferenceMapping | undefined,
  rmapError: string | undefined,
  opts: ReferenceCertifyOptions,
  log: Log,
): void {
  const basename = path.basename(filepath);
  if (l.tables.some((t) => t.ascii)) {
    for (const t of l.tables) {
      if (t.ascii) log.warning(`ASCII Table detected in HDU# ${t.segment}.  Particularly for HST, verify that it should not be a BIN Table HDU.`);
    }
  }
  let oldPath: string | undefined = opts.comparisonReference;
  if (!oldPath) {
    // find_governing_rmap fails as get_corresponding_rmap did
    if (rmapError !== undefined) log.warning(`Failed resolving comparison reference for table checks : ${rmapError}`);
    const oldName = rmap && opts.store ? findOldReference(rmap, opts.store.locate(rmap.name), basename, l, opts, log) : undefined;
    if (oldName && oldName !== basename) {
      const located = opts.locateReference?.(oldName);
      if (located && fs.existsSync(located)) {
        log.info(`Comparing reference ${pyRepr(basename)} against ${pyRepr(path.basename(located))}`);
        oldPath = located;
      } else {
        // find_old_reference then returns None: no comparison, as when nothing is replaced
        log.warning(`Failed to obtain reference comparison file ${pyRepr(oldName)} : not available from the catalog`);
      }
    }
    if (l.tablesError) throw new CheckError(l.tablesError);
    if (!oldPath) {
      for (const t of l.tables) modeDictionary('new reference', basename, t, modeColumns, log);
      log.warning(`No comparison reference for ${pyRepr(basename)} in context ${pyRepr(opts.context ?? 'None')}. Skipping tables comparison.`);
      return;
    }
  }
  const old = FitsFile.open(oldPath);
  try {
    const oldTables = loadFitsTables(old);
    if (oldTables.length !== l.tables.length) {
      log.warning(`Differing HDU counts in ${pyRepr(oldPath)} and ${pyRepr(basename)} : ${oldTables.length} vs. ${l.tables.length}`);
    }
    for (let i = 0; i < Math.min(oldTables.length, l.tables.length); i++) {
      const oldModes = modeDictionary('old reference', path.basename(oldPath), oldTables[i], modeColumns, log);
      if (!oldModes.size) continue;
      const newModes = modeDictionary('new reference', basename, l.tables[i], modeColumns, log);
      if (!newModes.size) continue;
      const oldLabel = pyRepr(`${path.basename(oldPath)}[${oldTables[i].segment}]`);
      const newLabel = pyRepr(`${basename}[${l.tables[i].segment}]`);
      const sampleOld = [...oldModes.values()][0];
      const sampleNew = [...newModes.values()][0];
      if (sampleOld.length !== sampleNew.length || oldTables[i].colnames.join() !== l.tables[i].colnames.join()) {
        log.warning(`Change in row format between ${oldLabel} and ${newLabel}`);
        continue;
      }
      for (const mode of [...oldModes.keys()].sort()) {
        if (!newModes.has(mode)) log.warning(`Table mode ${mode.split('\u0000').join(', ')} from old reference ${oldLabel} is NOT IN new reference ${newLabel}`);
      }
      for (const mode of [...newModes.keys()].sort()) {
        if (!oldModes.has(mode)) log.info(`Table mode ${mode.split('\u0000').join(', ')} of new reference ${newLabel} is NOT IN old reference ${pyRepr(path.basename(oldPath))}`);
      }
    }
  } finally {
    old.close();
  }
}

/** The reference `basename` would replace in `rmap`: found by a trial insertion. */
function findOldReference(rmap: ReferenceMapping, rmapPath: string, basename: string, l: Loaded, opts: ReferenceCertifyOptions, log: Log): string | undefined {
  const names = new Set(rmap.referenceNames());
  if (names.has(basename)) return basename;
  const header: Record<string, string> = {};
  for (const [k, v] of l.header) header[k] = Array.isArray(v) ? v.join('|') : v;
  try {
    const text = fs.readFileSync(rmapPath, 'utf8');
    // insert_reference as the group check does it: wildcard expansions, values checked against the _ld.tpn
    const validValues = Object.fromEntries(tpnValidValues(rmap, loadSpecs(opts.specsRoot, opts.observatory)));
    let result;
    try {
      result = rmapInsertReferences(text, rmap.name, [{ basename, header }], { wildcardExpansions: wildcardExpansions(opts.observatory), validValues });
    } catch (e) {
      throw insertionFailure(basename, rmap.name, header, e);
    }
    // the first "replace" difference names the predecessor; a rule deleted and another added
    // (a changed match key, e.g. SYNPHOT comment parkeys) is no replacement
    const newName = `${rmap.name}.trial-insert`;
    const diffs = mappingDifferences(rmap.name, newName, (n) => (n === newName ? result.text : n === rmap.name ? text : fs.readFileSync(path.join(path.dirname(rmapPath), n), 'utf8')));
    for (const d of diffs) {
      if (diffAction(d) !== 'replace') continue;
      const m = /replaced '([^']*)' with '([^']*)'/.exec(String(d.tuple[d.tuple.length - 1]));
      if (m) return m[1];
    }
    log.info(`No file corresponding to ${pyRepr(basename)} in context ${pyRepr(rmap.name)}`);
  } catch (e) {
    log.warning(`Failed resolving comparison reference for table checks : ${errText(e)}`);
  }
  return undefined;
}

/**
 * A reference's header for a trial rmap insertion (the group check): every keyword of the
 * file in reference vocabulary (or-lists joined with '|'), and its raw form for naming.
 */
export function referenceHeaderForInsert(filepath: string, into?: ReferenceMapping): { header: Record<string, string>; raw: Map<string, string> } {
  const l = loadRaw(filepath, fileFormat(filepath));
  try {
    let h: RawHeader = l.header;
    // Roman: the locator's reference_keys_to_dataset_keys, which the shared insertion code does
    // not do for Roman (its rmaps match ROMAN.META.EXPOSURE.START_TIME made from the USEAFTER)
    if (into && into.observatory.toLowerCase() === 'roman') {
      try {
        h = romanReferenceKeysToDatasetKeys(h, into.name, r2dOf(into));
      } catch {
        h = l.header; // certify has reported it ("Error mapping reference names ...")
      }
    }
    const header: Record<string, string> = {};
    for (const [k, v] of h) header[k] = Array.isArray(v) ? v.join('|') : v;
    return { header, raw: l.raw };
  } finally {
    l.fits?.close();
  }
}

// ---------------------------------------------------------------------------------------------
// ASDF Standard version against the context's requirement (check_asdf_standard_version)

interface Pep440 {
  release: number[];
  pre: boolean;
}

function parsePep440(v: string): Pep440 | undefined {
  const m = /^v?(\d+(?:\.\d+)*)(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\d*))?(?:[-_.]?(?:post|rev|r)[-_.]?\d*)?(?:[-_.]?(dev)[-_.]?(\d*))?$/i.exec(v.trim());
  if (!m) return undefined;
  return { release: m[1].split('.').map(Number), pre: !!(m[2] || m[4]) };
}

function cmpRelease(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d) return d < 0 ? -1 : 1;
  }
  return 0;
}

/**
 * packaging's `version in SpecifierSet(spec)` for the clause forms requirements use (==, !=,
 * <, <=, >, >=, ~=, == with .*); prereleases match only when a clause names one.
 */
export function versionSatisfies(version: string, specifier: string): boolean {
  const v = parsePep440(version);
  if (!v) return false;
  const clauses = specifier
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  const allowPre = clauses.some((c) => parsePep440(c.replace(/^[=!<>~]+/, '').replace(/\.\*$/, ''))?.pre);
  if (v.pre && !allowPre) return false;
  return clauses.every((c) => {
    const m = /^(===|==|!=|~=|<=|>=|<|>)\s*(.+)$/.exec(c);
    if (!m) return false;
    const [, op, target] = m;
    if ((op === '==' || op === '!=') && target.endsWith('.*')) {
      const prefix = target.slice(0, -2).split('.').map(Number);
      const eq = prefix.every((x, i) => (v.release[i] ?? 0) === x);
      return op === '==' ? eq : !eq;
    }
    const t = parsePep440(target);
    if (!t) return op === '===' ? version === target : false;
    const d = cmpRelease(v.release, t.release);
    switch (op) {
      case '==':
      case '===':
        return d === 0;
      case '!=':
        return d !== 0;
      case '<':
        return d < 0;
      case '<=':
        return d <= 0;
      case '>':
        return d > 0;
      case '>=':
        return d >= 0;
      case '~=': {
        const prefix = t.release.slice(0, Math.max(1, t.release.length - 1));
        return d >= 0 && prefix.every((x, i) => (v.release[i] ?? 0) === x);
      }
    }
    return false;
  });
}

/**
 * The context's `asdf_standard_requirement` checked against an ASDF file's standard version.
 * Reading the version goes through file_factory, whose get_observatory looks at the path as
 * given: without an observatory prefix an ASDF tree must name 'roman' or meta.telescope.
 */
function checkAsdfStandardVersion(filepath: string, l: Loaded, opts: ReferenceCertifyOptions): void {
  if (l.tree !== undefined && fileFormat(filepath) === 'asdf' && !['hst', 'jwst', 'roman', 'tobs'].some((o) => filepath.startsWith(`${o}_`))) {
    if (treeGet(l.tree, 'roman') === undefined) {
      const meta = treeGet(l.tree, 'meta');
      if (meta === undefined) throw new Error("'meta'");
      if (treeGet(meta, 'telescope') === undefined) throw new Error("'telescope'");
    }
  }
  if (!l.asdfVersion || !opts.store || !opts.context) return;
  const raw = opts.store.loadContext(opts.context).header['asdf_standard_requirement'];
  const spec = raw && raw.t === 'str' ? raw.v.trim() : '';
  if (versionSatisfies(l.asdfVersion, spec)) return;
  const shown = spec
    .split(',')
    .map((c) => c.replace(/\s+/g, ''))
    .filter(Boolean)
    .sort()
    .join(',');
  throw new AsdfRequirementError(`ASDF Standard version ${l.asdfVersion} does not fulfill context requirement of asdf_standard${shown}`);
}

class AsdfRequirementError extends Error {}

function treeGet(tree: TreeValue | undefined, key: string): TreeValue | undefined {
  if (!tree || typeof tree !== 'object' || Array.isArray(tree) || tree instanceof Date) return undefined;
  return key in tree ? (tree as Record<string, TreeValue>)[key] : undefined;
}

/** stdatamodels.filetype.check: the last two suffixes must include .fits or .asdf (.json is an association). */
export function datamodelsFileTypeProblem(filepath: string): string | undefined {
  const name = path.basename(filepath).replace(/^\.+/, '');
  const parts = name.split('.');
  const suffixes = parts.slice(1).filter((x, i, a) => i < a.length - 1 || x !== '').slice(-2);
  if (!suffixes.length || name.endsWith('.')) return `Input file path does not have an extension: ${filepath}`;
  for (const ext of [...suffixes].reverse()) {
    if (ext === 'asdf' || ext === 'fits' || ext === 'json') return undefined;
  }
  return `Unrecognized file type for: ${filepath}`;
}
