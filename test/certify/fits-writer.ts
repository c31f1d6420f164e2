// A minimal FITS writer for certify tests' synthetic files (written to a temporary folder):
// a primary header, image extensions (float32) and binary tables of strings, int32 and float64.

type CardValue = string | number | boolean;

function card(key: string, value?: CardValue): string {
  if (value === undefined) return key.padEnd(80, ' ');
  let v: string;
  if (typeof value === 'string') v = `'${value.replace(/'/g, "''").padEnd(8, ' ')}'`.padEnd(20, ' ');
  else if (typeof value === 'boolean') v = (value ? 'T' : 'F').padStart(20, ' ');
  else v = (Number.isInteger(value) ? String(value) : value.toExponential()).padStart(20, ' ');
  return `${key.padEnd(8, ' ')}= ${v}`.padEnd(80, ' ');
}

function header(cards: string[]): Buffer {
  const text = [...cards, card('END')].join('');
  const padded = text.padEnd(Math.ceil(text.length / 2880) * 2880, ' ');
  return Buffer.from(padded, 'latin1');
}

function pad(data: Buffer): Buffer {
  const n = Math.ceil(data.length / 2880) * 2880;
  return Buffer.concat([data, Buffer.alloc(n - data.length)]);
}

export type Column = { name: string; values: string[] } | { name: string; ints: number[] } | { name: string; floats: number[] };

export interface Hdu {
  name?: string;
  ver?: number;
  keywords?: Record<string, CardValue>;
  /** an image: shape in numpy order (slowest first), float32 pixels in C order */
  image?: { shape: number[]; pixels: number[] };
  /** a binary table */
  table?: Column[];
}

/** The bytes of a FITS file: `primary` keywords on an empty primary HDU, then `extensions`. */
export function fitsBytes(primary: Record<string, CardValue>, extensions: Hdu[] = []): Buffer {
  const parts: Buffer[] = [header([card('SIMPLE', true), card('BITPIX', 8), card('NAXIS', 0), card('EXTEND', true), ...Object.entries(primary).map(([k, v]) => card(k, v))])];
  for (const h of extensions) {
    const extra = [...(h.name ? [card('EXTNAME', h.name)] : []), ...(h.ver ? [card('EXTVER', h.ver)] : []), ...Object.entries(h.keywords ?? {}).map(([k, v]) => card(k, v))];
    if (h.image) {
      const axes = [...h.image.shape].reverse();
      parts.push(header([card('XTENSION', 'IMAGE'), card('BITPIX', -32), card('NAXIS', axes.length), ...axes.map((a, i) => card(`NAXIS${i + 1}`, a)), card('PCOUNT', 0), card('GCOUNT', 1), ...extra]));
      const data = Buffer.alloc(h.image.pixels.length * 4);
      h.image.pixels.forEach((p, i) => data.writeFloatBE(p, i * 4));
      parts.push(pad(data));
    } else if (h.table) {
      const cols = h.table.map((c) => {
        if ('values' in c) {
          const w = Math.max(1, ...c.values.map((v) => v.length));
          return { c, form: `${w}A`, width: w, rows: c.values.length };
        }
        if ('ints' in c) return { c, form: 'J', width: 4, rows: c.ints.length };
        return { c, form: 'D', width: 8, rows: c.floats.length };
      });
      const nrows = cols.length ? cols[0].rows : 0;
      const rowBytes = cols.reduce((a, x) => a + x.width, 0);
      const colCards = cols.flatMap((x, i) => [card(`TTYPE${i + 1}`, x.c.name), card(`TFORM${i + 1}`, x.form)]);
      parts.push(
        header([
          card('XTENSION', 'BINTABLE'),
          card('BITPIX', 8),
          card('NAXIS', 2),
          card('NAXIS1', rowBytes),
          card('NAXIS2', nrows),
          card('PCOUNT', 0),
          card('GCOUNT', 1),
          card('TFIELDS', cols.length),
          ...colCards,
          ...extra,
        ]),
      );
      const data = Buffer.alloc(rowBytes * nrows);
      for (let r = 0; r < nrows; r++) {
        let off = r * rowBytes;
        for (const x of cols) {
          if ('values' in x.c) data.write(x.c.values[r].padEnd(x.width, ' '), off, 'latin1');
          else if ('ints' in x.c) data.writeInt32BE(x.c.ints[r], off);
          else data.writeDoubleBE(x.c.floats[r], off);
          off += x.width;
        }
      }
      parts.push(pad(data));
    }
  }
  return Buffer.concat(parts);
}
