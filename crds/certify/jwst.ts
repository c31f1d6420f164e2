// JWST data-model paths ↔ FITS keywords for certify (cross strapping and the " [FITS]"
// annotations of messages). The real library asks the stdatamodels schemas at run time; the
// table in data/jwst-dm-fits.json was generated once from them (its _source says how).

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FitsFile } from '../io/fits';
import { JWST_CROSS_STRAPPED } from '../jwst-keywords';

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

// ---------------------------------------------------------------------------------------------
// The JWST project check's data-model open (stdatamodels.jwst.datamodels.util.open): which
// model class a reference without a known model_type is opened as. The real tool warns
// "model_type not found. Opening <file> as a <class>" (NoTypeWarning); a FITS file whose class
// cannot be guessed fails ("Can't determine datamodel class from argument to open").

let knownModels: Set<string> | undefined;
function definedModels(): Set<string> {
  knownModels ??= new Set((JSON.parse(fs.readFileSync(path.join(__dirname, 'data', 'jwst-datamodels.json'), 'utf8')) as { models: string[] }).models);
  return knownModels;
}

export interface DataModelGuess {
  /** the class the file is opened as */
  className?: string;
  /** the NoTypeWarning message, when the file names no known model_type */
  warning?: string;
  /** the failure of open() when no class fits */
  error?: string;
}

/** FITS: DATAMODL, else by the SCI array's shape and the REFTYPE (as util.open guesses). */
export function guessFitsDataModel(filepath: string, f: FitsFile): DataModelGuess {
  const primary = f.hdus[0];
  const datamodl = primary?.get('DATAMODL');
  if (typeof datamodl === 'string' && definedModels().has(datamodl)) return { className: datamodl };
  const sci = f.find('SCI', 1);
  // an image's shape; a table HDU has no shape attribute there, so ()
  const shape = sci && (sci.kind === 'IMAGE' || sci.kind === 'PRIMARY') ? sci.shape : [];
  let cls: string | undefined;
  if (shape.length === 4 && !f.find('DQ')) cls = 'RampModel';
  if (!cls && primary?.get('REFTYPE') !== undefined) {
    cls = ({ 0: 'ReferenceFileModel', 2: 'ReferenceImageModel', 3: 'ReferenceCubeModel', 4: 'ReferenceQuadModel' } as Record<number, string>)[shape.length];
  }
  if (!cls) {
    if (shape.length === 0) cls = 'JwstDataModel';
    else if (shape.length === 4) cls = 'QuadModel';
    else if (shape.length === 3) cls = 'CubeModel';
    else if (shape.length === 2) cls = f.find('SCI', 2) ? 'MultiSlitModel' : 'ImageModel';
  }
  if (!cls) return { error: "Can't determine datamodel class from argument to open" };
  return { className: cls, warning: `model_type not found. Opening ${filepath} as a ${cls}` };
}

/** ASDF: meta.model_type, else the generic JwstDataModel (named by the file's base name). */
export function guessAsdfDataModel(filepath: string, tree: unknown): DataModelGuess {
  const meta = tree && typeof tree === 'object' ? (tree as Record<string, unknown>).meta : undefined;
  const modelType = meta && typeof meta === 'object' ? (meta as Record<string, unknown>).model_type : undefined;
  if (typeof modelType === 'string' && definedModels().has(modelType)) return { className: modelType };
  return { className: 'JwstDataModel', warning: `model_type not found. Opening ${path.basename(filepath)} as a JwstDataModel` };
}
