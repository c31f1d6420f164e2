// The keywords of a reference for rules generation and the catalog, whatever its format.
// Rules generation must insert a reference with the very header certify's group check
// trial-inserted it with (crds/certify referenceHeaderForInsert: the union of a FITS file's
// HDUs, or the flattened META.* tree of an ASDF, JSON or YAML file), so both read it here;
// the catalog's instrument, type, USEAFTER, pedigree and description come from the same
// header under either vocabulary (INSTRUME or META.INSTRUMENT.NAME, ...).
import { referenceHeaderForInsert } from './certify/reference';

export interface ReferenceKeywords {
  /** Every keyword as certify reads it (or-lists joined with '|'): the header rmap insertion uses. */
  header: Record<string, string>;
  instrument?: string;
  /** REFTYPE / FILETYPE (HST) or META.REFTYPE (JWST, Roman), as written. */
  reftype?: string;
  useafter?: string;
  pedigree?: string;
  description?: string;
  aperture?: string;
}

/** The first keyword of `keys` the header defines (UNDEFINED counts as absent). */
function first(header: Record<string, string>, keys: string[]): string | undefined {
  for (const k of keys) {
    const v = header[k];
    if (v !== undefined && v !== 'UNDEFINED') return v;
  }
  return undefined;
}

/** Throws (the reader's message) when the file cannot be read as a reference. */
export function referenceKeywords(file: string): ReferenceKeywords {
  const { header } = referenceHeaderForInsert(file);
  return {
    header,
    instrument: first(header, ['INSTRUME', 'META.INSTRUMENT.NAME', 'ROMAN.META.INSTRUMENT.NAME']),
    reftype: first(header, ['REFTYPE', 'FILETYPE', 'META.REFTYPE', 'ROMAN.META.REFTYPE']),
    useafter: first(header, ['USEAFTER', 'META.USEAFTER', 'ROMAN.META.USEAFTER']),
    pedigree: first(header, ['PEDIGREE', 'META.PEDIGREE', 'ROMAN.META.PEDIGREE']),
    description: first(header, ['DESCRIP', 'DESCRIPTION', 'META.DESCRIPTION', 'ROMAN.META.DESCRIPTION']),
    aperture: first(header, ['APERTURE', 'META.APERTURE.NAME']),
  };
}

/** referenceKeywords, or only an empty header when the file cannot be read (catalog imports). */
export function referenceKeywordsOrEmpty(file: string): ReferenceKeywords {
  try {
    return referenceKeywords(file);
  } catch {
    return { header: {} };
  }
}
