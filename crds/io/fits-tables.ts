// FITS table HDUs (BINTABLE and ASCII TABLE): column names, formats as numpy dtype strings
// (what the certify helpers has_column_type() and has_columns() look at), and row values for
// column checks and unique-row-key (mode) checks. Data is read per HDU within a byte budget.

import { FitsError, FitsFile, num, type Hdu } from './fits';

export type ColumnKind = 'str' | 'int' | 'float' | 'bool' | 'complex' | 'other';
export type CellValue = string | number | bigint | boolean | null | CellValue[];

export interface Column {
  name: string; // TTYPEn as written
  format: string; // TFORMn
  /** numpy dtype str() of the column, as astropy's FITS_rec reports it: '>f4', '|S8', "('>f8', (10,))" */
  dtype: string;
  kind: ColumnKind;
  /** element count per row (repeat), 1 for scalars and strings */
  repeat: number;
}

export interface Table {
  hduIndex: number; // the segment number
  name: string;
  kind: 'BINTABLE' | 'TABLE';
  columns: Column[];
  nrows: number;
}

interface BinField {
  code: string;
  repeat: number;
  width: number; // bytes per row
  offset: number;
  tzero?: number;
  tscal?: number;
  dims?: number[];
}

const BIN_CODES: Record<string, { size: number; dtype: string; kind: ColumnKind }> = {
  L: { size: 1, dtype: 'bool', kind: 'bool' },
  B: { size: 1, dtype: 'uint8', kind: 'int' },
  I: { size: 2, dtype: '>i2', kind: 'int' },
  J: { size: 4, dtype: '>i4', kind: 'int' },
  K: { size: 8, dtype: '>i8', kind: 'int' },
  E: { size: 4, dtype: '>f4', kind: 'float' },
  D: { size: 8, dtype: '>f8', kind: 'float' },
  C: { size: 8, dtype: '>c8', kind: 'complex' },
  M: { size: 16, dtype: '>c16', kind: 'complex' },
  A: { size: 1, dtype: '|S', kind: 'str' },
  X: { size: 0, dtype: 'bool', kind: 'bool' },
  P: { size: 8, dtype: '>i4', kind: 'other' },
  Q: { size: 16, dtype: '>i8', kind: 'other' },
};

function str(hdu: Hdu, key: string): string | undefined {
  const v = hdu.get(key);
  return typeof v === 'string' ? v : undefined;
}

function parseTdim(text: string | undefined): number[] | undefined {
  if (!text) return undefined;
  const m = /^\s*\(([\d\s,]+)\)\s*$/.exec(text);
  if (!m) return undefined;
  return m[1].split(',').map((x) => Number(x.trim())).reverse();
}

function binFields(f: FitsFile, hdu: Hdu): { columns: Column[]; fields: BinField[]; rowBytes: number } {
  const where = `${f.basename}: HDU ${hdu.index}`;
  const tfields = num(hdu.get('TFIELDS')) ?? 0;
  if (!Number.isInteger(tfields) || tfields < 0 || tfields > 999) throw new FitsError(`${where}: invalid TFIELDS`);
  const rowBytes = num(hdu.get('NAXIS1')) ?? 0;
  const columns: Column[] = [];
  const fields: BinField[] = [];
  let offset = 0;
  for (let i = 1; i <= tfields; i++) {
    const format = (str(hdu, `TFORM${i}`) ?? '').trim().toUpperCase();
    const m = /^(\d*)([LXBIJKAEDCMPQ])(.*)$/.exec(format);
    if (!m) throw new FitsError(`${where}: invalid TFORM${i} ${JSON.stringify(format)}`);
    const repeat = m[1] === '' ? 1 : Number(m[1]);
    const code = m[2];
    const spec = BIN_CODES[code];
    const width = code === 'X' ? Math.ceil(repeat / 8) : code === 'P' || code === 'Q' ? spec.size : spec.size * repeat;
    const tdim = parseTdim(str(hdu, `TDIM${i}`));
    const tzero = num(hdu.get(`TZERO${i}`));
    const tscal = num(hdu.get(`TSCAL${i}`));
    let dtype = spec.dtype;
    let kind = spec.kind;
    if (code === 'I' && tzero === 32768) dtype = '>u2';
    else if (code === 'J' && tzero === 2147483648) dtype = '>u4';
    else if ((tscal !== undefined && tscal !== 1) || (tzero !== undefined && tzero !== 0 && kind === 'int')) {
      dtype = '>f8';
      kind = 'float';
    }
    let shape: number[] | undefined;
    if (code === 'A') {
      dtype = `|S${tdim && tdim.length > 1 ? tdim[tdim.length - 1] : repeat}`;
      if (tdim && tdim.length > 1) shape = tdim.slice(0, -1);
    } else if (code === 'P' || code === 'Q') {
      shape = [2];
    } else if (code === 'X') {
      shape = repeat > 1 ? [repeat] : undefined;
    } else if (tdim && tdim.reduce((a, b) => a * b, 1) > 1) shape = tdim;
    else if (repeat > 1) shape = [repeat];
    if (shape) dtype = `('${dtype}', (${shape.join(', ')}${shape.length === 1 ? ',' : ''}))`;
    const name = str(hdu, `TTYPE${i}`) ?? '';
    columns.push({ name: name.trim(), format, dtype, kind, repeat: code === 'A' ? 1 : repeat });
    fields.push({ code, repeat, width, offset, tzero, tscal, dims: shape });
    offset += width;
  }
  if (offset > rowBytes) throw new FitsError(`${where}: TFORMn widths (${offset} bytes) exceed NAXIS1 (${rowBytes})`);
  return { columns, fields, rowBytes };
}

interface AsciiField {
  start: number;
  width: number;
  code: string;
}

function asciiFields(f: FitsFile, hdu: Hdu): { columns: Column[]; fields: AsciiField[]; rowBytes: number } {
  const where = `${f.basename}: HDU ${hdu.index}`;
  const tfields = num(hdu.get('TFIELDS')) ?? 0;
  if (!Number.isInteger(tfields) || tfields < 0 || tfields > 999) throw new FitsError(`${where}: invalid TFIELDS`);
  const rowBytes = num(hdu.get('NAXIS1')) ?? 0;
  const columns: Column[] = [];
  const fields: AsciiField[] = [];
  for (let i = 1; i <= tfields; i++) {
    const format = (str(hdu, `TFORM${i}`) ?? '').trim().toUpperCase();
    const m = /^([AIFED])(\d+)(?:\.(\d+))?$/.exec(format);
    if (!m) throw new FitsError(`${where}: invalid ASCII TFORM${i} ${JSON.stringify(format)}`);
    const start = (num(hdu.get(`TBCOL${i}`)) ?? 1) - 1;
    const width = Number(m[2]);
    if (start < 0 || start + width > rowBytes) throw new FitsError(`${where}: column ${i} lies outside the row`);
    const code = m[1];
    const dtype = code === 'A' ? `|S${width}` : code === 'I' ? '>i4' : code === 'F' || code === 'E' ? '>f4' : '>f8';
    const kind: ColumnKind = code === 'A' ? 'str' : code === 'I' ? 'int' : 'float';
    columns.push({ name: (str(hdu, `TTYPE${i}`) ?? '').trim(), format, dtype, kind, repeat: 1 });
    fields.push({ start, width, code });
  }
  return { columns, fields, rowBytes };
}

/** The table HDUs of an open FITS file (descriptions only, no data read). */
export function fitsTables(f: FitsFile): Table[] {
  const out: Table[] = [];
  for (const hdu of f.hdus) {
    if (hdu.kind !== 'BINTABLE' && hdu.kind !== 'TABLE') continue;
    const { columns } = hdu.kind === 'BINTABLE' ? binFields(f, hdu) : asciiFields(f, hdu);
    out.push({ hduIndex: hdu.index, name: hdu.name, kind: hdu.kind, columns, nrows: num(hdu.get('NAXIS2')) ?? 0 });
  }
  return out;
}

function scaled(v: number, fld: { tzero?: number; tscal?: number }): number {
  return v * (fld.tscal ?? 1) + (fld.tzero ?? 0);
}

function readBinElement(buf: Buffer, pos: number, code: string): CellValue {
  switch (code) {
    case 'L': {
      const b = buf[pos];
      return b === 0x54 ? true : b === 0x46 ? false : null;
    }
    case 'B':
      return buf.readUInt8(pos);
    case 'I':
      return buf.readInt16BE(pos);
    case 'J':
      return buf.readInt32BE(pos);
    case 'K': {
      const v = buf.readBigInt64BE(pos);
      return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
    case 'E':
      return buf.readFloatBE(pos);
    case 'D':
      return buf.readDoubleBE(pos);
    case 'C':
      return [buf.readFloatBE(pos), buf.readFloatBE(pos + 4)];
    case 'M':
      return [buf.readDoubleBE(pos), buf.readDoubleBE(pos + 8)];
    default:
      return null;
  }
}

/**
 * Every row of table HDU `hduIndex` as an array of cell values (strings with trailing blanks
 * removed, numbers, booleans, arrays for vector columns).
 */
export function readTableRows(f: FitsFile, hduIndex: number): { columns: Column[]; rows: CellValue[][] } {
  const hdu = f.hdus[hduIndex];
  if (!hdu || (hdu.kind !== 'BINTABLE' && hdu.kind !== 'TABLE')) throw new FitsError(`${f.basename}: HDU ${hduIndex} is not a table`);
  const nrows = num(hdu.get('NAXIS2')) ?? 0;
  const data = f.readData(hdu);
  const rows: CellValue[][] = [];
  if (hdu.kind === 'TABLE') {
    const { columns, fields, rowBytes } = asciiFields(f, hdu);
    for (let r = 0; r < nrows; r++) {
      const row: CellValue[] = [];
      for (const fld of fields) {
        const text = data.toString('latin1', r * rowBytes + fld.start, r * rowBytes + fld.start + fld.width);
        if (fld.code === 'A') row.push(text.replace(/ +$/, ''));
        else {
          const t = text.trim().replace(/[Dd]/, 'E');
          row.push(t === '' ? 0 : Number(t));
        }
      }
      rows.push(row);
    }
    return { columns, rows };
  }
  const { columns, fields, rowBytes } = binFields(f, hdu);
  for (let r = 0; r < nrows; r++) {
    const base = r * rowBytes;
    const row: CellValue[] = [];
    for (const fld of fields) {
      const pos = base + fld.offset;
      if (fld.code === 'A') {
        row.push(data.toString('latin1', pos, pos + fld.width).replace(/[\0 ]+$/, ''));
      } else if (fld.code === 'X') {
        const bits: CellValue[] = [];
        for (let b = 0; b < fld.repeat; b++) bits.push(((data[pos + (b >> 3)] >> (7 - (b & 7))) & 1) === 1);
        row.push(fld.repeat === 1 ? bits[0] : bits);
      } else if (fld.code === 'P' || fld.code === 'Q') {
        row.push(fld.code === 'P' ? [data.readInt32BE(pos), data.readInt32BE(pos + 4)] : [Number(data.readBigInt64BE(pos)), Number(data.readBigInt64BE(pos + 8))]);
      } else {
        const size = BIN_CODES[fld.code].size;
        const scale = fld.tzero !== undefined || fld.tscal !== undefined;
        const one = (i: number): CellValue => {
          const v = readBinElement(data, pos + i * size, fld.code);
          return scale && typeof v === 'number' ? scaled(v, fld) : v;
        };
        if (fld.repeat === 1) row.push(one(0));
        else {
          const arr: CellValue[] = [];
          for (let i = 0; i < fld.repeat; i++) arr.push(one(i));
          row.push(arr);
        }
      }
    }
    rows.push(row);
  }
  return { columns, rows };
}
