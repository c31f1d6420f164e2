// Argument checks of the JSON-RPC methods (the original's check_* functions, crds-protocol.md
// §1.5): every value from the wire is checked for type, pattern and size before it reaches
// the catalog or the rules engine, and a bad one fails with the original's error class.
import type { CatalogSnapshot } from '../catalog-view';
import { compileGlob, type Glob } from '../../crds/glob';
import { fail } from './errors';

export const FILE_RE = /^(?:[A-Za-z0-9._\- ]{1,128}|N\/A|OMIT)$/;
export const GLOB_RE = /^[A-Za-z0-9_.*+()\-[\]]{1,128}$/;
export const HEADER_KEY_RE = /^[A-Za-z0-9_\-.]{1,256}$/;
export const DATASET_ID_RE = /^[A-Za-z0-9_.+-]{1,128}(?::[A-Za-z0-9_.+-]{1,128})?$/;
export const FIELD_RE = /^[A-Za-z0-9_]{1,64}$/;
const MAPPING_RE = /^[a-z0-9_.\-]{1,128}\.[pir]map$/;
const DATETIME = String.raw`\d\d\d\d-\d\d-\d\d(?:T\d\d:\d\d:\d\d(?:\.\d+)?)?`;
const TAGS = 'edit|operational|latest|build|versions';
/** <obs>[-<instrument>[-<type>]]-<date|tag>, or a bare date (the client's CONTEXT_RE). */
const CONTEXT_SPEC_RE = new RegExp(
  String.raw`^(?:(?<obs>[a-z]{1,8})(?:-(?<instrument>[a-z0-9]{1,32})(?:-(?<filekind>[a-z0-9_\-]{1,64}?))?)?-(?:(?<date>${DATETIME})|(?<tag>${TAGS}))|(?<bare>${DATETIME}))$`,
);

export const MAX_IDS_PER_RPC = 1000;

/** A value quoted in an error message: at most 140 characters, whatever the value (deep, huge or odd). */
export const show = (v: unknown): string => {
  let s: string;
  if (typeof v === 'string') s = `'${v.slice(0, 141)}'`;
  else if (v !== null && typeof v === 'object') s = Array.isArray(v) ? `a list of ${v.length}` : 'an object';
  else s = String(v);
  return s.length > 140 ? s.slice(0, 140) + '...' : s;
};

export function str(v: unknown, what: string, errorName = 'InvalidParamsError'): string {
  if (typeof v !== 'string') fail(errorName, `${what} must be a string, not ${show(v)}`);
  return v as string;
}

/** `null` is the server's own observatory; anything else must name it (any case). */
export function checkObservatory(v: unknown, observatory: string): string {
  if (v === null || v === undefined) return observatory;
  if (typeof v !== 'string' || v.toLowerCase() !== observatory) {
    fail('InvalidObservatoryError', `Mismatch between requested observatory ${show(v)} and server observatory '${observatory}'`);
  }
  return observatory;
}

export function checkFilename(v: unknown): string {
  if (typeof v !== 'string' || !FILE_RE.test(v)) fail('BadFilenameError', `Invalid file name ${show(v)}`);
  return v as string;
}

/** A list glob (at most 128 characters), compiled for fnmatch matching in O(pattern × name) steps (crds/glob.ts). */
export function checkGlob(v: unknown): Glob {
  if (v === null || v === undefined) return compileGlob('*');
  if (typeof v !== 'string' || !GLOB_RE.test(v)) fail('BadListGlobError', `Invalid list glob pattern ${show(v)}`);
  return compileGlob(v as string);
}

export function checkBoolean(v: unknown, what: string): boolean {
  if (typeof v === 'boolean') return v;
  if (v === null || v === undefined) return false;
  const s = String(v);
  if (['true', 'True', 'TRUE'].includes(s)) return true;
  if (['false', 'False', 'FALSE', 'nil'].includes(s)) return false;
  return fail('InvalidParamsError', `${what} must be a boolean, not ${show(v)}`);
}

export function checkStringList(v: unknown, what: string, re: RegExp, errorName: string, max = Infinity): string[] {
  if (!Array.isArray(v)) fail(errorName, `${what} must be a list of strings, not ${show(v)}`);
  const list = v as unknown[];
  if (list.length > max) fail(errorName, `Too many ${what}: ${list.length} > ${max}`);
  for (const x of list) if (typeof x !== 'string' || !re.test(x)) fail(errorName, `Invalid ${what.replace(/s$/, '')} ${show(x)}`);
  return list as string[];
}

export function checkDatasetIds(v: unknown): string[] {
  return checkStringList(v, 'dataset ids', DATASET_ID_RE, 'InvalidDatasetIds', MAX_IDS_PER_RPC).map((id) => id.toUpperCase());
}

/** A header: an object of at most 10,000 string keywords with string values (the original's check_header). */
export function checkHeader(v: unknown): Record<string, string> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail('InvalidHeaderError', `Header must be an object of keyword values, not ${show(v)}`);
  const header = v as Record<string, unknown>;
  const keys = Object.keys(header);
  if (keys.length > 10_000) fail('InvalidHeaderError', `Header has too many keywords: ${keys.length}`);
  for (const key of keys) {
    if (!HEADER_KEY_RE.test(key)) fail('InvalidHeaderError', `Bad header key ${show(key)}`);
    const value = header[key];
    if (typeof value !== 'string' || value.length > 256) fail('InvalidHeaderError', `Bad header value for key ${show(key)}: ${show(value)}`);
  }
  return header as Record<string, string>;
}

/** null → [] (every type); each name lower-cased and known among `known` types. */
export function checkReftypes(v: unknown, known: ReadonlySet<string>, observatory: string): string[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) fail('InvalidReftypesError', `Reference types must be a list of strings, not ${show(v)}`);
  return (v as unknown[]).map((t) => {
    if (typeof t !== 'string' || !HEADER_KEY_RE.test(t)) fail('InvalidReftypesError', `Invalid reference type ${show(t)}`);
    const type = (t as string).toLowerCase();
    if (!known.has(type)) fail('InvalidReftypesError', `Reference type ${show(type)} is not known to CRDS for '${observatory}'`);
    return type;
  });
}

/** Looks a name up among catalogued files, known and distributable (the original's check_known_file + availability). */
export function checkAvailableFile(snapshot: CatalogSnapshot, name: string): void {
  const file = snapshot.files.get(name);
  if (!file) fail('UnknownFile', `File '${name}' is not known to CRDS.`);
  if (!file!.available) fail('UnavailableFile', `File '${name}' is not yet available.`);
}

export interface ContextResolver {
  /** The context (pmap) the history says was latest at `date`. */
  byDate(date: Date, spec: string): string;
  /** The default context of a state tag. */
  byTag(tag: string): string;
  /** imap / rmap of a pmap for an instrument [and type], or 'N/A'. */
  narrow(pmap: string, instrument: string, filekind?: string): string;
}

/** A date spec as a UTC Date (dates without a time are midnight); InvalidDateFormat otherwise. */
export function specDate(spec: string): Date {
  const iso = spec.includes('T') ? spec : spec + 'T00:00:00';
  const d = new Date(iso.replace(/(\.\d{3})\d*$/, '$1') + 'Z');
  if (Number.isNaN(d.getTime())) fail('InvalidDateFormat', `Invalid date ${show(spec)}`);
  return d;
}

/**
 * Any context argument: a literal mapping name (which must belong to this observatory, be
 * catalogued and available), or a date-based / symbolic spec resolved through the context
 * history and default contexts. Returns a mapping name, or 'N/A' for an irrelevant type.
 */
export function checkContext(v: unknown, observatory: string, snapshot: CatalogSnapshot, resolve: ContextResolver): string {
  if (typeof v !== 'string') return fail('UnknownContextError', `Context must be a string naming a mapping or a date, not ${show(v)}`);
  if (MAPPING_RE.test(v)) {
    if (!v.startsWith(observatory)) fail('MismatchedContextError', `Context ${show(v)} does not belong to observatory '${observatory}'`);
    checkAvailableFile(snapshot, v);
    return v;
  }
  const m = CONTEXT_SPEC_RE.exec(v);
  if (!m?.groups) return fail('UnknownContextError', `Invalid context ${show(v)}: expected a .pmap/.imap/.rmap name or a date-based context`);
  const g = m.groups;
  if (g.obs && g.obs !== observatory) fail('MismatchedContextError', `Context ${show(v)} does not belong to observatory '${observatory}'`);
  const date = g.date ?? g.bare;
  const pmap = date ? resolve.byDate(specDate(date), v) : resolve.byTag(g.tag);
  return g.instrument ? resolve.narrow(pmap, g.instrument, g.filekind) : pmap;
}
