// HST runtime hooks (crds-rules.md §3.10), re-implemented from crds.hst.{acs_v1,acs_v2,
// acs_v3,wfc3,wfpc2}: functions that rewrite the dataset header before a lookup
// (precondition_header) or for a second try after a failed lookup (fallback_header).
// Registry keyed by the versioned hook name used in rmap headers.

import type { EngineCache } from './cache';
import { conditionValue } from './conditioning';
import { CrdsError } from './errors';
import { pyStrRepr } from './parser';
import { PyValueError, pyFloat, pyTrunc, reformatDate } from './timestamp';

export type HookHeader = Record<string, string>;
/**
 * A hook receives the rmap's lower-cased filekind and a header; returns a new header (or
 * null). Hooks never modify the header they are given (the lookup passes its own).
 */
export type Hook = (header: HookHeader, rmap: HookRmap) => HookHeader | null;
/** What a hook knows of its rmap; `cache` memoizes dataset dates (and their failures). */
export interface HookRmap {
  readonly filekind: string;
  readonly cache?: EngineCache;
}

const SM4 = '2009-05-14 00:00:00';
const PRE_SM4_SUBARRAY = '2002-03-30 00:00:00';
const ACS_HALF_CHIP_COLS = 2048;

/** Python dict `header[key]`: KeyError's message is the repr of the key. */
function req(header: HookHeader, key: string): string {
  const v = header[key];
  if (v === undefined) throw new CrdsError(pyStrRepr(key));
  return v;
}

// Python float() syntax for finite numbers (as pyFloat); a cheap test before pyFloat, whose
// failures are exceptions, and 'UNDEFINED' values reach these checks on every lookup.
const FLOAT_RE = /^[+-]?((\d+(_\d+)*)?\.?\d+(_\d+)*([eE][+-]?\d+)?|\d+(_\d+)*\.([eE][+-]?\d+)?)$/;
const INF_NAN_RE = /^[+-]?(inf|infinity|nan)$/i;

/** int(float(x)), where only ValueError is caught by the hooks. */
function intOfFloat(s: string): number | undefined {
  const t = s.trim();
  if (FLOAT_RE.test(t)) {
    const x = Number(t.replace(/_/g, ''));
    if (Number.isFinite(x)) return Math.trunc(x);
  } else if (!INF_NAN_RE.test(t)) {
    return undefined; // float() ValueError
  }
  try {
    return pyTrunc(pyFloat(s));
  } catch (exc) {
    if (exc instanceof PyValueError && !/infinity/.test(exc.message)) return undefined;
    throw exc; // OverflowError (inf) is not caught by the hooks
  }
}

/** Python str(float) of an int divided by 2 (true division). */
function halfAsStr(n: number): string {
  return conditionValue(String(n / 2));
}

/**
 * reformatDate(DATE-OBS + ' ' + TIME-OBS), memoized through the rmap's cache; a bad date
 * rethrows the memoized exception (no new Error per lookup).
 */
function exposureDate(header: HookHeader, rmap: HookRmap | undefined): string {
  const raw = req(header, 'DATE-OBS') + ' ' + req(header, 'TIME-OBS');
  if (!rmap?.cache) return reformatDate(raw);
  const r = rmap.cache.reformatDateOrFailure(raw);
  if (typeof r === 'string') return r;
  throw r;
}

/** Shared body of precondition_header_acs_biasfile_v1/v2/v3 (v1 uses NUMCOLS/NUMROWS). */
function acsBiasPrecondition(headerIn: HookHeader, cols: string, rows: string, rmap?: HookRmap): HookHeader {
  const header = { ...headerIn };
  const exptime = exposureDate(header, rmap);
  if (exptime < SM4) header['APERTURE'] = 'N/A';
  const ncols = intOfFloat(req(header, cols));
  if (ncols !== undefined) {
    header[cols] = conditionValue(String(ncols));
    if (exptime < SM4 && ncols > ACS_HALF_CHIP_COLS) {
      const amp = req(header, 'CCDAMP');
      if (amp === 'A' || amp === 'D') header['CCDAMP'] = 'AD';
      else if (amp === 'B' || amp === 'C') header['CCDAMP'] = 'BC';
    }
  }
  if (req(header, 'DETECTOR') === 'WFC' && req(header, 'XCORNER') === '0.0' && req(header, 'YCORNER') === '0.0') {
    const nrows = intOfFloat(req(header, rows));
    if (nrows !== undefined) header[rows] = halfAsStr(nrows);
  }
  return header;
}

/** acs_v3.precondition_required */
function acsV3PreconditionRequired(header: HookHeader, exptime: string): boolean {
  if (req(header, 'DETECTOR') !== 'WFC') return true;
  if (exptime < PRE_SM4_SUBARRAY) return true;
  if (!('APERTURE' in header) || header['APERTURE'] === 'UNDEFINED') return true;
  const gain = pyFloat(req(header, 'CCDGAIN'));
  if (gain === 4.0 || gain === 8.0) return true;
  const amp = req(header, 'CCDAMP');
  return amp === 'AD' || amp === 'BC';
}

function acsBiasV3Precondition(headerIn: HookHeader, rmap?: HookRmap): HookHeader {
  const exptime = exposureDate(headerIn, rmap);
  if (!acsV3PreconditionRequired(headerIn, exptime)) return { ...headerIn };
  return acsBiasPrecondition(headerIn, 'NAXIS1', 'NAXIS2', rmap);
}

/** Full-frame defaults used by the ACS biasfile fallbacks. */
function acsBiasFullFrame(header: HookHeader, ltv1: string, ltv2: string): HookHeader {
  if (req(header, 'DETECTOR') === 'WFC') {
    header['NAXIS1'] = '4144.0';
    header['NAXIS2'] = '2068.0';
    header[ltv1] = '24.0';
    header[ltv2] = '0.0';
  } else {
    header['NAXIS1'] = '1062.0';
    header['NAXIS2'] = '1044.0';
    header[ltv1] = '19.0';
    const amp = req(header, 'CCDAMP');
    header[ltv2] = amp === 'C' || amp === 'D' ? '0.0' : '20.0';
  }
  return header;
}

export const HST_HOOKS: Readonly<Record<string, Hook>> = {
  precondition_header_acs_biasfile_v1: (h, r) => acsBiasPrecondition(h, 'NUMCOLS', 'NUMROWS', r),
  precondition_header_acs_biasfile_v2: (h, r) => acsBiasPrecondition(h, 'NAXIS1', 'NAXIS2', r),
  precondition_header_acs_biasfile_v3: (h, r) => acsBiasV3Precondition(h, r),
  fallback_header_acs_biasfile_v2: (h, r) => acsBiasFullFrame(acsBiasPrecondition(h, 'NAXIS1', 'NAXIS2', r), 'LTV1', 'LTV2'),
  fallback_header_acs_biasfile_v3: (h, r) => acsBiasFullFrame(acsBiasV3Precondition(h, r), 'RAW_LTV1', 'RAW_LTV2'),
  precondition_header_wfc3_biasfile_v1: (hIn) => {
    const h = { ...hIn };
    if (req(h, 'SUBARRAY') === 'T' && !req(h, 'APERTURE').includes('SUB')) h['APERTURE'] = 'N/A';
    return h;
  },
  fallback_header_wfpc2_flatfile_v1: (hIn) => {
    const h = { ...hIn };
    const f1 = req(h, 'FILTER1');
    const f2 = req(h, 'FILTER2');
    h['FILTER1'] = f2;
    h['FILTER2'] = f1;
    return h;
  },
};

/** Which module-level hook functions each HST instrument package exposes (crds.hst.<instr>). */
const INSTRUMENT_HOOKS: Readonly<Record<string, readonly string[]>> = {
  acs: [
    'precondition_header_acs_biasfile_v1',
    'precondition_header_acs_biasfile_v2',
    'fallback_header_acs_biasfile_v2',
    'precondition_header_acs_biasfile_v3',
    'fallback_header_acs_biasfile_v3',
  ],
  wfc3: ['precondition_header_wfc3_biasfile_v1'],
  wfpc2: ['fallback_header_wfpc2_flatfile_v1'],
};

/**
 * ReferenceMapping.get_hook: with a `hooks` header the name is hooks[generic] (or generic);
 * otherwise `<generic>_<instrument>_<filekind>_v1`. Only HST defines hooks.
 */
export function findHook(
  observatory: string,
  instrument: string,
  filekind: string,
  generic: 'precondition_header' | 'fallback_header',
  hooks: Record<string, string> | undefined,
): Hook | undefined {
  if (observatory !== 'hst') return undefined;
  const name = hooks && Object.keys(hooks).length ? (hooks[generic] ?? generic) : `${generic}_${instrument}_${filekind}_v1`;
  const available = INSTRUMENT_HOOKS[instrument];
  return available?.includes(name) ? HST_HOOKS[name] : undefined;
}

/** HST locate.dnr_check: WFC with CCDGAIN 0.5 or 1.4 ⇒ type not applicable on failure. */
export function hstDnrCheck(header: HookHeader): boolean {
  // Runs after every failed HST lookup: missing keys answer false without an exception.
  if (header['DETECTOR'] !== 'WFC') return false;
  const gain = header['CCDGAIN'];
  if (gain === undefined) return false;
  if (gain === '0.5' || gain === '1.4') return true; // conditioned values: the usual spelling
  // pyFloat without its exception: inf/nan and non-numbers are neither 0.5 nor 1.4
  const t = gain.trim();
  if (!FLOAT_RE.test(t)) return false;
  const g = Number(t.replace(/_/g, ''));
  return g === 0.5 || g === 1.4;
}
