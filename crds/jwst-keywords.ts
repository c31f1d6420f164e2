// JWST: bare FITS keywords → data-model parkeys (crds-rules.md §3.11). The real library asks
// the JWST data-model schemas at runtime (stdatamodels find_fits_keyword); this static table
// was derived once from stdatamodels 6.0.0 (the version installed with the oracle), limited to
// the data-model paths that JWST rmaps use as parkeys. Keys already written as META.* paths
// pass through; unknown keys pass through upper-cased.

export const JWST_FITS_TO_PARKEY: Readonly<Record<string, string>> = {
  BAND: 'META.INSTRUMENT.BAND',
  CAL_VER: 'META.CALIBRATION_SOFTWARE_VERSION',
  CHANNEL: 'META.INSTRUMENT.CHANNEL',
  CORONMSK: 'META.INSTRUMENT.CORONAGRAPH',
  'DATE-OBS': 'META.OBSERVATION.DATE',
  DETECTOR: 'META.INSTRUMENT.DETECTOR',
  EXP_TYPE: 'META.EXPOSURE.TYPE',
  FILTER: 'META.INSTRUMENT.FILTER',
  GRATING: 'META.INSTRUMENT.GRATING',
  INSTRUME: 'META.INSTRUMENT.NAME',
  LAMP: 'META.INSTRUMENT.LAMP_STATE',
  MODULE: 'META.INSTRUMENT.MODULE',
  PUPIL: 'META.INSTRUMENT.PUPIL',
  READPATT: 'META.EXPOSURE.READPATT',
  SUBARRAY: 'META.SUBARRAY.NAME',
  SUBSIZE1: 'META.SUBARRAY.XSIZE',
  SUBSIZE2: 'META.SUBARRAY.YSIZE',
  SUBSTRT1: 'META.SUBARRAY.XSTART',
  SUBSTRT2: 'META.SUBARRAY.YSTART',
  'TIME-OBS': 'META.OBSERVATION.TIME',
  TSOVISIT: 'META.VISIT.TSOVISIT',
};

/**
 * crds.jwst.locate.CROSS_STRAPPED_KEYWORDS: synonyms kept equal in reference headers (certify's
 * cross strapping and the trial insertion of rules generation both use it).
 */
export const JWST_CROSS_STRAPPED: Readonly<Record<string, readonly string[]>> = {
  'META.INSTRUMENT.NAME': ['INSTRUME', 'INSTRUMENT', 'META.INSTRUMENT.TYPE'],
  'META.TELESCOPE': ['TELESCOP', 'TELESCOPE', 'META.TELESCOPE'],
  'META.DESCRIPTION': ['DESCRIP', 'DESCRIPTION'],
  'META.REFTYPE': ['REFTYPE'],
  'META.AUTHOR': ['AUTHOR'],
  'META.PEDIGREE': ['PEDIGREE'],
  'META.USEAFTER': ['USEAFTER'],
  'META.HISTORY': ['HISTORY'],
  'META.CALIBRATION_SOFTWARE_VERSION': ['CAL_VER', 'CALIBRATION_SOFTWARE_VERSION'],
  'META.OBSERVATION.DATE': ['DATE-OBS'],
  'META.OBSERVATION.TIME': ['TIME-OBS'],
};

/**
 * The cross-strapped synonyms plus the FITS ↔ data-model pairs of the core parkeys (which the
 * library gets from the data-model schemas): what a reference header is completed with
 * before it is matched against rmap parkeys.
 */
export const JWST_HEADER_SYNONYMS: Readonly<Record<string, readonly string[]>> = {
  ...JWST_CROSS_STRAPPED,
  ...Object.fromEntries(
    ['BAND', 'CHANNEL', 'DETECTOR', 'FILTER', 'PUPIL', 'GRATING', 'MODULE', 'SUBARRAY', 'EXP_TYPE', 'READPATT'].map((fits) => [JWST_FITS_TO_PARKEY[fits], [fits]]),
  ),
};

/** jwst.locate.fits_to_parkeys */
export function fitsToParkeys(header: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(header)) {
    const pk = key.toLowerCase().startsWith('meta.') ? key : (JWST_FITS_TO_PARKEY[key.toUpperCase()] ?? key);
    out[pk.toUpperCase()] = String(header[key]);
  }
  return out;
}

/**
 * Reference-file pattern keywords (P_*) → the dataset parkeys they stand for, used when a
 * reference's header is turned into match keys (rules generation and certify's trial insert).
 */
export const JWST_PATTERN_TRANSLATIONS: Readonly<Record<string, string>> = {
  'META.EXPOSURE.P_EXPTYPE': 'META.EXPOSURE.TYPE',
  P_EXP_TY: 'META.EXPOSURE.TYPE',
  'META.INSTRUMENT.P_BAND': 'META.INSTRUMENT.BAND',
  P_BAND: 'META.INSTRUMENT.BAND',
  'META.INSTRUMENT.P_DETECTOR': 'META.INSTRUMENT.DETECTOR',
  P_DETECT: 'META.INSTRUMENT.DETECTOR',
  'META.INSTRUMENT.P_CHANNEL': 'META.INSTRUMENT.CHANNEL',
  P_CHANNE: 'META.INSTRUMENT.CHANNEL',
  'META.INSTRUMENT.P_FILTER': 'META.INSTRUMENT.FILTER',
  P_FILTER: 'META.INSTRUMENT.FILTER',
  'META.INSTRUMENT.P_PUPIL': 'META.INSTRUMENT.PUPIL',
  P_PUPIL: 'META.INSTRUMENT.PUPIL',
  'META.INSTRUMENT.P_MODULE': 'META.INSTRUMENT.MODULE',
  P_MODULE: 'META.INSTRUMENT.MODULE',
  'META.SUBARRAY.P_SUBARRAY': 'META.SUBARRAY.NAME',
  P_SUBARR: 'META.SUBARRAY.NAME',
  'META.INSTRUMENT.P_GRATING': 'META.INSTRUMENT.GRATING',
  P_GRATIN: 'META.INSTRUMENT.GRATING',
  'META.EXPOSURE.PREADPATT': 'META.EXPOSURE.READPATT',
  'META.EXPOSURE.P_READPATT': 'META.EXPOSURE.READPATT',
  P_READPA: 'META.EXPOSURE.READPATT',
  'META.INSTRUMENT.PCORONAGRAPH': 'META.INSTRUMENT.CORONAGRAPH',
  P_CORONM: 'META.INSTRUMENT.CORONAGRAPH',
};
