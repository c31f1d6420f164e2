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

/** jwst.locate.fits_to_parkeys */
export function fitsToParkeys(header: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(header)) {
    const pk = key.toLowerCase().startsWith('meta.') ? key : (JWST_FITS_TO_PARKEY[key.toUpperCase()] ?? key);
    out[pk.toUpperCase()] = String(header[key]);
  }
  return out;
}
