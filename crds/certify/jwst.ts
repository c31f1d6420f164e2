// JWST data-model paths ↔ FITS keywords for certify (cross strapping and the " [FITS]"
// annotations of messages). The real library asks the stdatamodels schemas at run time; the
// table in data/jwst-dm-fits.json was generated once from them (its _source says how).

import * as fs from 'node:fs';
import * as path from 'node:path';

/** crds.jwst.locate.CROSS_STRAPPED_KEYWORDS: synonyms kept equal in reference headers. */
export const JWST_CROSS_STRAPPED: Record<string, string[]> = {
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

/** equivalence_dict_to_pairs of the static table. */
export const JWST_STATIC_PAIRS: [string, string][] = Object.entries(JWST_CROSS_STRAPPED).flatMap(([m, slaves]) =>
  slaves.filter((s) => s !== m).flatMap((s): [string, string][] => [[m, s], [s, m]]),
);

let dmToFits: Map<string, string> | undefined;
let fitsToDm: Map<string, string> | undefined;

function load(): void {
  if (dmToFits) return;
  const data = JSON.parse(fs.readFileSync(path.join(__dirname, 'data', 'jwst-dm-fits.json'), 'utf8')) as { dm_to_fits: Record<string, string> };
  dmToFits = new Map(Object.entries(data.dm_to_fits));
  fitsToDm = new Map();
  for (const [dm, fits] of dmToFits) fitsToDm.set(fits, dm); // invert_dict: the last path wins
}

export function jwstDmToFits(key: string): string | undefined {
  load();
  return dmToFits!.get(key.toUpperCase());
}

export function jwstFitsToDm(key: string): string | undefined {
  load();
  return fitsToDm!.get(key.toUpperCase());
}

/** locate.add_fits_keywords: 'META.X.Y' → 'META.X.Y [FITSKEY]' in a message. */
export function annotateFitsKeywords(message: string): string {
  let out = message;
  for (const m of message.matchAll(/META(\.[A-Z][A-Z0-9_]*)+/g)) {
    const key = m[0];
    let fits = jwstDmToFits(key);
    if (fits === undefined && JWST_CROSS_STRAPPED[key]) fits = JWST_CROSS_STRAPPED[key][0];
    if (fits === undefined) {
      const p = /^META(\.[A-Z][A-Z0-9_]*)*\.(P_[A-Z0-9_]+)/.exec(key);
      fits = p ? p[2].slice(0, 8) : 'FITS unknown';
    }
    const note = ` [${fits}]`;
    if (!out.includes(note)) out = out.split(key).join(key + note);
  }
  return out;
}
