// HST's CDBS-style time-based reference names (crds-protocol.md §4.8, crds-rules.md §4.2;
// crds.hst.locate.generate_unique_name, used by the original server's "auto rename" of HST
// references through crds.misc.uniqname): nine characters of UTC time and instrument, then
// `_<suffix><ext>`, e.g. `25b1739tj_drk.fits` = 2018-05-11 17:39:58 UTC, ACS dark.

/** One character per value 0..35, as the name's year, month, day and half-minute use it. */
const YEARS = 'abcdefghijklmnopqrstuvwxyz0123456789';
const DIGITS36 = '0123456789abcdefghijklmnopqrstuvwxyz';

/** siname.instrument_to_id_char: the name's ninth character. */
export const CDBS_INSTRUMENT_CHARS: Readonly<Record<string, string>> = {
  acs: 'j',
  wfc3: 'i',
  stis: 'o',
  cos: 'l',
  nicmos: 'n',
  wfpc2: 'u',
  synphot: 'm',
};

/**
 * generate_timestamp: year (a=1990 … z=2015, 0=2016 … 9=2025, then around again), month
 * 1-9a-c, day 1-9a-v, HHMM, and the seconds in two-second steps 0-9a-t.
 */
export function cdbsTimestamp(now: Date): string {
  const year = YEARS[(((now.getUTCFullYear() - 1990) % 36) + 36) % 36]!;
  const month = DIGITS36[now.getUTCMonth() + 1]!;
  const day = DIGITS36[now.getUTCDate()]!;
  const hhmm = String(now.getUTCHours()).padStart(2, '0') + String(now.getUTCMinutes()).padStart(2, '0');
  return `${year}${month}${day}${hhmm}${DIGITS36[Math.floor(now.getUTCSeconds() / 2)]!}`;
}

/**
 * generate_unique_name_core: the CDBS-style name of an `instrument` reference of type
 * `suffix` (the type's suffix in the type specs, e.g. `drk` for darkfile) made at `now`.
 * Throws for an instrument without a CDBS character (not an HST instrument).
 */
export function cdbsUniqueName(instrument: string, suffix: string, ext: string, now: Date): string {
  const id = CDBS_INSTRUMENT_CHARS[instrument.toLowerCase()];
  if (!id) throw new Error(`Instrument '${instrument}' has no CDBS name character.`);
  return `${cdbsTimestamp(now)}${id}_${suffix}${ext.toLowerCase()}`;
}

/**
 * The first free CDBS name at or after `now`: the original slept two seconds before each
 * name so that no two names share a timestamp; here the next two-second step is taken
 * instead while `taken(name)` says the name exists.
 */
export async function freeCdbsUniqueName(
  instrument: string,
  suffix: string,
  ext: string,
  now: Date,
  taken: (name: string) => Promise<boolean>,
): Promise<string> {
  for (let t = now.getTime(); ; t += 2000) {
    const name = cdbsUniqueName(instrument, suffix, ext, new Date(t));
    if (!(await taken(name))) return name;
  }
}
