// File naming (crds-rules.md §4): what a mapping or reference name says about its
// observatory, instrument, type (filekind) and serial; the next serial name of a mapping
// series. Type specs (suffix ↔ filekind) come from a combined_specs.json the caller names.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { CrdsNamingError } from './errors';
import type { MappingStore } from './mappings';
import { pyStrRepr } from './parser';

export interface NameParts {
  observatory: string;
  instrument: string; // '' for a .pmap
  filekind: string; // '' for a .pmap/.imap
  serial: string; // '' when unnumbered, e.g. 'hst_acs.imap'
  ext: string; // with the dot: '.rmap', '.fits'
}

export const MAPPING_EXTENSIONS = ['.pmap', '.imap', '.rmap'] as const;

/** CRDS-style mapping name: obs[_instr[_filekind]][_serial].?map */
const MAPPING_NAME_RE =
  /^([a-z]{2,9})(?:_([a-z][a-z0-9]{1,16}))?(?:_([a-z][a-z0-9-]{1,32}))?(?:_(\d{4,}))?\.(pmap|imap|rmap)$/;

export function isMappingName(name: string): boolean {
  return MAPPING_EXTENSIONS.some((e) => name.endsWith(e));
}

/**
 * Split a new-style CRDS name (obs_instr_filekind_serial.ext) by underscore fields, as the
 * observatory locate modules do: .pmap 1–2 fields, .imap 2–3, others 3–4.
 */
export function decomposeNewstyleName(filename: string): NameParts {
  const base = path.basename(filename);
  const ext = path.extname(base);
  const parts = base.slice(0, base.length - ext.length).split('_');
  const observatory = parts[0];
  let instrument = '';
  let filekind = '';
  let serial = '';
  const bad = (what: string): never => {
    throw new CrdsNamingError(`Invalid ${what}filename ${pyStrRepr(filename)}`);
  };
  if (ext === '.pmap') {
    if (parts.length < 1 || parts.length > 2) bad('.pmap ');
    serial = parts[1] ?? '';
  } else if (ext === '.imap') {
    if (parts.length < 2 || parts.length > 3) bad('.imap ');
    instrument = parts[1];
    serial = parts[2] ?? '';
  } else {
    if (parts.length < 3 || parts.length > 4) bad('');
    instrument = parts[1];
    filekind = parts[2];
    serial = parts[3] ?? '';
  }
  return { observatory, instrument, filekind, serial, ext };
}

/** Type specifications of one observatory: { instrument: { filekind: spec } } (combined_specs.json). */
export class TypeSpecs {
  private readonly suffixToKind = new Map<string, Map<string, string>>();

  constructor(
    readonly observatory: string,
    readonly specs: Readonly<Record<string, Readonly<Record<string, { suffix?: string; [k: string]: unknown }>>>>,
  ) {
    for (const [instrument, kinds] of Object.entries(specs)) {
      const m = new Map<string, string>();
      for (const [filekind, spec] of Object.entries(kinds)) if (spec.suffix) m.set(spec.suffix, filekind);
      this.suffixToKind.set(instrument, m);
    }
  }

  static fromFile(observatory: string, file: string): TypeSpecs {
    return new TypeSpecs(observatory, JSON.parse(fs.readFileSync(file, 'utf8')));
  }

  instruments(): string[] {
    return Object.keys(this.specs).sort();
  }

  filekinds(instrument?: string): string[] {
    const kinds = new Set<string>();
    for (const [instr, k] of Object.entries(this.specs)) {
      if (!instrument || instr === instrument) Object.keys(k).forEach((x) => kinds.add(x));
    }
    return [...kinds].sort();
  }

  suffixToFilekind(instrument: string, suffix: string): string | undefined {
    return this.suffixToKind.get(instrument === 'nic' ? 'nicmos' : instrument)?.get(suffix);
  }

  filekindToSuffix(instrument: string, filekind: string): string | undefined {
    return this.specs[instrument === 'nic' ? 'nicmos' : instrument]?.[filekind]?.suffix;
  }
}

/** CDBS instrument id characters (last character of the first name field). */
const ID_CHAR_TO_INSTRUMENT: Record<string, string> = {
  j: 'acs',
  o: 'stis',
  n: 'nicmos',
  u: 'wfpc2',
  i: 'wfc3',
  l: 'cos',
  m: 'synphot',
};

/** GEIS extensions of WFPC2 references → suffix. */
const GEIS_EXT_TO_SUFFIX: Record<string, string> = {
  r0: 'msk',
  r1: 'a2d',
  r2: 'bas',
  r3: 'drk',
  r4: 'flt',
  r5: 'shd',
  r6: 'flt',
  r7: 'w4t',
};

const SYNPHOT_SUFFIX_TO_FILEKIND: [string, string][] = [
  ['_syn.fits', 'thruput'],
  ['_th.fits', 'thermal'],
  ['_tmt.fits', 'tmttab'],
  ['_tmg.fits', 'tmgtab'],
  ['_tmc.fits', 'tmctab'],
];

/** hst siname.WhichCDBSInstrument: instrument of a CDBS-style reference name, lower-case. */
export function cdbsInstrument(name: string): string {
  const parts = path.basename(name).split(/[_.]/);
  const pos = parts.length - 2;
  if (pos > 0 && ['syn', 'th'].includes(parts[pos].toLowerCase())) return 'synphot';
  if (pos + 1 > 0 && ['syn', 'th'].includes(parts[pos + 1].toLowerCase())) return 'synphot';
  const instr = ID_CHAR_TO_INSTRUMENT[parts[0].slice(-1).toLowerCase()];
  if (!instr) throw new CrdsNamingError(`Cannot determine instrument for filename ${pyStrRepr(name)}`);
  return instr;
}

/** (instrument, filekind) of an HST CDBS-style reference name such as lcb12060j_drk.fits. */
export function cdbsReferenceProperties(name: string, specs: TypeSpecs): { instrument: string; filekind: string } {
  const base = path.basename(name);
  const ext = path.extname(base);
  const fields = base.slice(0, base.length - ext.length).split('_');
  const instrument = cdbsInstrument(base);
  let filekind: string | undefined;
  if (instrument === 'synphot') {
    filekind = SYNPHOT_SUFFIX_TO_FILEKIND.find(([sfx]) => base.endsWith(sfx))?.[1];
    if (!filekind) throw new CrdsNamingError(`Unknown synphot filetype for: ${pyStrRepr(name)}`);
    return { instrument, filekind };
  }
  const suffix = ext === '.fits' ? fields[1] : GEIS_EXT_TO_SUFFIX[ext.slice(1, 3)];
  filekind = suffix === undefined ? undefined : specs.suffixToFilekind(instrument, suffix);
  if (!filekind) throw new CrdsNamingError(`Couldn't map extension/suffix ${pyStrRepr(String(suffix))} to filekind.`);
  return { instrument, filekind };
}

/**
 * (instrument, filekind) of a mapping or reference file from its name (§4), lower-case.
 * New-style names are decomposed (validated against `specs` when given); HST CDBS names go
 * through the id-character and suffix tables; mappings with unusual names fall back to
 * their header through `store`.
 */
export function getFileProperties(
  observatory: string,
  filename: string,
  options: { specs?: TypeSpecs; store?: MappingStore } = {},
): { instrument: string; filekind: string } {
  const { specs, store } = options;
  const known = (p: NameParts): boolean =>
    p.observatory === observatory &&
    (!specs || ((p.instrument === '' || specs.instruments().includes(p.instrument)) &&
      (p.filekind === '' || specs.filekinds(p.instrument).includes(p.filekind))));
  if (isMappingName(filename)) {
    try {
      const p = decomposeNewstyleName(filename);
      if (known(p)) return { instrument: p.instrument, filekind: p.filekind };
    } catch {
      /* fall through to the header */
    }
    if (!store) throw new CrdsNamingError(`Cannot determine instrument and filekind of ${pyStrRepr(filename)}`);
    const m = store.load(filename);
    if (m.kind === 'pmap') return { instrument: '', filekind: '' };
    if (m.kind === 'imap') return { instrument: m.instrument, filekind: '' };
    return { instrument: m.instrument, filekind: m.filekind };
  }
  try {
    const p = decomposeNewstyleName(filename);
    if (known(p)) return { instrument: p.instrument, filekind: p.filekind };
  } catch {
    /* legacy name */
  }
  if (observatory === 'hst' && specs) return cdbsReferenceProperties(filename, specs);
  throw new CrdsNamingError(`Cannot determine instrument and filekind of ${pyStrRepr(filename)} from its name`);
}

/** The series of a mapping name: 'hst_acs_darkfile' for hst_acs_darkfile_0363.rmap. */
export function mappingSeries(name: string): { series: string; serial: number | undefined; ext: string } {
  const base = path.basename(name);
  const m = MAPPING_NAME_RE.exec(base);
  if (!m) throw new CrdsNamingError(`Not a CRDS mapping name: ${pyStrRepr(name)}`);
  const series = [m[1], m[2], m[3]].filter((x) => x !== undefined).join('_');
  return { series, serial: m[4] === undefined ? undefined : Number(m[4]), ext: '.' + m[5] };
}

/**
 * The next name in the series of `name`: highest serial among `existing` names of the same
 * series (and `name` itself) + 1, formatted with at least 4 digits (the real library's local
 * stand-in for the server's allocation; unnumbered names start at _0001).
 */
export function nextMappingName(name: string, existing: Iterable<string>): string {
  const { series, serial, ext } = mappingSeries(name);
  let highest = serial ?? 0;
  for (const other of existing) {
    let p: ReturnType<typeof mappingSeries>;
    try {
      p = mappingSeries(other);
    } catch {
      continue;
    }
    if (p.series === series && p.ext === ext && p.serial !== undefined && p.serial > highest) highest = p.serial;
  }
  return `${series}_${String(highest + 1).padStart(4, '0')}${ext}`;
}

/** Paths of every mapping file in a mappings folder (flat or with <obs>/ subfolders), sorted by name. */
export function listMappingFiles(mappingsDir: string, observatory?: string): string[] {
  const out: string[] = [];
  const scan = (dir: string, depth: number): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (depth === 0 && (!observatory || e.name === observatory)) scan(path.join(dir, e.name), 1);
      } else if (isMappingName(e.name) && (!observatory || e.name.startsWith(observatory))) {
        out.push(path.join(dir, e.name));
      }
    }
  };
  scan(mappingsDir, 0);
  return out.sort((a, b) => (path.basename(a) < path.basename(b) ? -1 : path.basename(a) > path.basename(b) ? 1 : 0));
}

/** Every mapping name in a mappings folder. */
export function listMappingNames(mappingsDir: string, observatory?: string): string[] {
  return listMappingFiles(mappingsDir, observatory).map((f) => path.basename(f));
}
