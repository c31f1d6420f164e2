// FITS reader for certify: headers (primary and extensions, long-string CONTINUE, every card
// value type), HDU geometry (array shapes and data types), and binary / ASCII table columns.
//
// Streamed: each HDU's header is read block by block (2880 bytes) until END, and its data is
// skipped by seeking past the size the header announces, so reading the headers of a
// multi-gigabyte file reads only its header blocks. Table data is read only when asked for,
// one HDU at a time, within a byte budget. Every malformed input ends in a FitsError that
// names the file and the problem; sizes are checked against the file size before any
// allocation, so no header can make the reader allocate or loop without bound.
//
// No maintained npm library reads FITS headers and tables from Node streams (fitsjs is a
// browser library, unmaintained since 2014, reading whole files into memory), so this is
// written from the FITS 4.0 standard.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { pyFloatRepr } from '../parser';

export const BLOCK = 2880;
const CARD = 80;
/** Upper bound on one header's size: real reference headers have < 5,000 cards. */
const MAX_HEADER_BLOCKS = 10_000; // 1.4 million cards, 28.8 MB
/** Upper bound on the HDUs walked in one file. */
const MAX_HDUS = 10_000;
/** Table data read into memory at most (reference tables are a few MB). */
export const DEFAULT_TABLE_BUDGET = 512 * 1024 * 1024;

export class FitsError extends Error {
  /** what astropy warned about before it failed (FitsFile.open: the walk's warnings) */
  warnings: FitsWarning[] = [];
  constructor(message: string) {
    super(message);
    this.name = 'FitsError';
  }
}

/** A float card value (kept apart from ints so that an integral float prints as "2.0"). */
export class PyFloat {
  constructor(readonly value: number) {}
  toString(): string {
    return pyFloatRepr(this.value);
  }
}

export interface Complex {
  re: number;
  im: number;
}

/** number: an integer within 2^53; bigint beyond; PyFloat: a real; null: no value. */
export type CardValue = string | number | bigint | boolean | PyFloat | Complex | null;

export interface Card {
  keyword: string;
  value: CardValue; // null: no value (commentary card or undefined value)
  comment: string;
  /** the 80-character image(s), for diagnostics */
  raw: string;
}

/** A Python warning astropy gives about a file: category, module, message. */
export interface FitsWarning {
  category: string;
  module: string;
  message: string;
}

export type HduKind = 'PRIMARY' | 'IMAGE' | 'BINTABLE' | 'TABLE' | 'UNKNOWN';

export interface Hdu {
  index: number;
  kind: HduKind;
  name: string; // EXTNAME upper-cased, or PRIMARY for the first HDU without one
  ver: number; // EXTVER, default 1
  cards: Card[];
  headerOffset: number;
  dataOffset: number;
  /** bytes of data, heap included, without padding */
  dataSize: number;
  /** numpy-order shape (slowest axis first), () when there is no data */
  shape: number[];
  /** numpy dtype name of an image: uint8, int16, uint16, int32, float32, ... */
  dtype: string;
  get(keyword: string): CardValue | undefined;
}

/** Python str() of a card value, as the real library stores header values. */
export function cardValueStr(v: CardValue): string {
  if (v === null) return '';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return String(v);
  if (v instanceof PyFloat) return pyFloatRepr(v.value);
  if (typeof v === 'object') return `(${pyFloatRepr(v.re)}${v.im < 0 || Object.is(v.im, -0) ? '-' : '+'}${pyFloatRepr(Math.abs(v.im))}j)`;
  return v;
}


// ---------------------------------------------------------------------------------------------
// Card parsing

const FIXED_INT = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)([EeDd][+-]?\d+)?$/;

function parseNumber(text: string): number | bigint | PyFloat | undefined {
  const t = text.trim();
  if (FIXED_INT.test(t)) {
    const n = Number(t);
    return Number.isSafeInteger(n) ? n : BigInt(t);
  }
  if (FLOAT_RE.test(t)) return new PyFloat(Number(t.replace(/[Dd]/, 'E')));
  return undefined;
}

/** Parse the value field (columns 11–80) of a card: value and comment. */
function parseValueField(field: string, where: () => string): { value: CardValue; comment: string; string: boolean } {
  let i = 0;
  while (i < field.length && field[i] === ' ') i++;
  if (i >= field.length) return { value: null, comment: '', string: false };
  if (field[i] === "'") {
    let s = '';
    let j = i + 1;
    for (;;) {
      if (j >= field.length) throw new FitsError(`${where()}: unterminated string value`);
      if (field[j] === "'") {
        if (field[j + 1] === "'") {
          s += "'";
          j += 2;
          continue;
        }
        j++;
        break;
      }
      s += field[j++];
    }
    const rest = field.slice(j);
    const slash = rest.indexOf('/');
    if (rest.slice(0, slash < 0 ? undefined : slash).trim() !== '') {
      throw new FitsError(`${where()}: unparsable value ${JSON.stringify(field.trim())}`);
    }
    return { value: s.replace(/ +$/, ''), comment: slash < 0 ? '' : rest.slice(slash + 1).trim(), string: true };
  }
  const slash = field.indexOf('/', i);
  const text = field.slice(i, slash < 0 ? undefined : slash).trim();
  const comment = slash < 0 ? '' : field.slice(slash + 1).trim();
  if (text === '') return { value: null, comment, string: false };
  if (text === 'T' || text === 'F') return { value: text === 'T', comment, string: false };
  const num = parseNumber(text);
  if (num !== undefined) return { value: num, comment, string: false };
  const cx = /^\(\s*([^,]+?)\s*,\s*([^)]+?)\s*\)$/.exec(text);
  if (cx) {
    const re = parseNumber(cx[1]);
    const im = parseNumber(cx[2]);
    if (re !== undefined && im !== undefined) return { value: { re: toNum(re), im: toNum(im) }, comment, string: false };
  }
  throw new FitsError(`${where()}: unparsable value ${JSON.stringify(text)}`);
}

function toNum(v: number | bigint | PyFloat): number {
  return v instanceof PyFloat ? v.value : Number(v);
}

const COMMENTARY = new Set(['COMMENT', 'HISTORY', '']);

/**
 * Parse the cards of one header (the text up to and including END). CONTINUE cards that
 * follow a string ending in '&' are folded into it (the OGIP long-string convention).
 */
export function parseCards(text: string, where: string): Card[] {
  const cards: Card[] = [];
  for (let off = 0; off + CARD <= text.length; off += CARD) {
    const image = text.slice(off, off + CARD);
    const cardNo = off / CARD + 1;
    const at = (): string => `${where}, card ${cardNo}`;
    let keyword = image.slice(0, 8).trimEnd();
    if (keyword === 'END' && image.slice(8).trim() === '') break;
    let field: string | undefined;
    if (keyword === 'HIERARCH') {
      const eq = image.indexOf('=');
      if (eq > 0) {
        keyword = image.slice(9, eq).trim().toUpperCase();
        field = image.slice(eq + 1);
      }
    } else if (image.slice(8, 10) === '= ' && !COMMENTARY.has(keyword)) {
      field = image.slice(10);
    }
    if (/[^\x20-\x7e]/.test(image)) throw new FitsError(`${at()}: non-ASCII or control characters in header card`);
    if (keyword === 'CONTINUE') {
      const prev = cards[cards.length - 1];
      const parsed = parseValueField(image.slice(8), at);
      if (prev && typeof prev.value === 'string' && prev.value.endsWith('&') && parsed.string) {
        prev.value = prev.value.slice(0, -1) + (parsed.value as string);
        if (parsed.comment) prev.comment = prev.comment ? `${prev.comment} ${parsed.comment}` : parsed.comment;
        prev.raw += image;
        continue;
      }
      cards.push({ keyword, value: null, comment: image.slice(8).trim(), raw: image });
      continue;
    }
    if (!/^[A-Z0-9_-]*$/.test(keyword) && !image.startsWith('HIERARCH')) {
      throw new FitsError(`${at()}: illegal keyword ${JSON.stringify(keyword)}`);
    }
    if (field === undefined) {
      cards.push({ keyword, value: null, comment: image.slice(8).trimEnd(), raw: image });
      continue;
    }
    const { value, comment } = parseValueField(field, at);
    cards.push({ keyword, value, comment, raw: image });
  }
  return cards;
}

// ---------------------------------------------------------------------------------------------
// Opening a file and walking its HDUs

function cardGetter(cards: Card[]): (k: string) => CardValue | undefined {
  let index: Map<string, CardValue> | undefined;
  return (k: string) => {
    if (!index) {
      index = new Map();
      for (const c of cards) if (c.value !== null && !index.has(c.keyword)) index.set(c.keyword, c.value);
    }
    return index.get(k);
  };
}

export function num(v: CardValue | undefined): number | undefined {
  if (v instanceof PyFloat) return v.value;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

function intCard(hdu: { get(k: string): CardValue | undefined }, key: string, where: string, dflt?: number): number {
  const v = hdu.get(key);
  if (v === undefined) {
    if (dflt !== undefined) return dflt;
    throw new FitsError(`${where}: missing required keyword ${key}`);
  }
  if (typeof v === 'bigint') throw new FitsError(`${where}: ${key} = ${v} is out of range`);
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new FitsError(`${where}: ${key} must be an integer, not ${JSON.stringify(cardValueStr(v))}`);
  return v;
}

const BITPIX_DTYPE: Record<number, string> = { 8: 'uint8', 16: 'int16', 32: 'int32', 64: 'int64', [-32]: 'float32', [-64]: 'float64' };

/** Read exactly `length` bytes at `position`, or fewer at end of file. */
function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}

export interface FitsFileOptions {
  /** stop after this many HDUs (e.g. 1 to read only the primary header) */
  maxHdus?: number;
}

/** An open FITS file: its HDU list (headers only) and on-demand table reads. Close it. */
export class FitsFile {
  readonly hdus: Hdu[] = [];
  readonly size: number;
  /** bytes read so far (header blocks and table data): the benchmark reports it */
  bytesRead = 0;
  /** what astropy warns about while it walks the HDUs (see walk), in order */
  readonly walkWarnings: FitsWarning[] = [];
  private fd: number;
  readonly basename: string;

  private constructor(readonly filepath: string, fd: number, size: number) {
    this.fd = fd;
    this.size = size;
    this.basename = path.basename(filepath);
  }

  static open(filepath: string, options: FitsFileOptions = {}): FitsFile {
    const fd = fs.openSync(filepath, 'r');
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) throw new FitsError(`${path.basename(filepath)}: not a regular file`);
      const f = new FitsFile(filepath, fd, st.size);
      try {
        f.walk(options.maxHdus ?? MAX_HDUS);
      } catch (e) {
        if (e instanceof FitsError) e.warnings = [...f.walkWarnings];
        throw e;
      }
      return f;
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }

  /**
   * Walk the HDUs as astropy's HDUList does (_read_next_hdu): the primary header must be
   * complete, but after it each HDU is read where the previous one's padded data ends, and
   *   - an HDU whose data (or padding) the file does not hold is kept: astropy warns "File may
   *     have been truncated" (fits-checks.ts truncationWarnings) and only fails when the data
   *     is read;
   *   - the end of the file there ends the list;
   *   - trailing zero bytes end it with astropy's "Unexpected extra padding" warning;
   *   - stray bytes that are not a whole number of blocks end it with its VerifyWarning
   *     "Error validating header for HDU #n" (Header size is not multiple of 2880);
   *   - whole blocks without END fail the open ("Header missing END card.", an OSError).
   */
  private walk(maxHdus: number): void {
    let offset = 0;
    const name = this.basename;
    while (this.hdus.length < maxHdus) {
      const index = this.hdus.length;
      const where = `${name}: HDU ${index}`;
      if (index > 0 && offset >= this.size) break; // astropy: EOFError, the list is complete
      const text = index === 0 ? this.readHeaderText(offset, where) : this.readExtensionHeaderText(offset, index);
      if (text === undefined) break;
      const cards = parseCards(text, where);
      const get = cardGetter(cards);
      const hdu = this.describe(index, cards, get, offset, offset + text.length, where);
      this.hdus.push(hdu);
      offset = hdu.dataOffset + Math.ceil(hdu.dataSize / BLOCK) * BLOCK;
    }
    if (this.hdus.length === 0) throw new FitsError(`${name}: empty file, no FITS header`);
  }

  /**
   * The header text of an extension at `offset` (Header._from_blocks and _check_padding), or
   * undefined when astropy ends the HDU list there (with the warning it gives).
   */
  private readExtensionHeaderText(offset: number, index: number): string | undefined {
    const parts: Buffer[] = [];
    let endFound = false;
    let length = 0;
    for (let b = 0; b < MAX_HEADER_BLOCKS && !endFound; b++) {
      const pos = offset + b * BLOCK;
      if (pos >= this.size) break;
      const block = readAt(this.fd, pos, BLOCK);
      this.bytesRead += block.length;
      parts.push(block);
      length += block.length;
      // decode_ascii: bytes beyond ASCII are replaced, with a warning (once per file is enough)
      if (block.some((x) => x > 0x7f) && !this.walkWarnings.some((w) => w.module === 'astropy.io.fits.util')) {
        this.walkWarnings.push({
          category: 'AstropyUserWarning',
          module: 'astropy.io.fits.util',
          message: 'non-ASCII characters are present in the FITS file header and have been replaced by "?" characters',
        });
      }
      const text = block.toString('latin1');
      for (let c = 0; c + 3 <= text.length; c += CARD) {
        if (text.startsWith('END', c) && text.slice(c + 3, c + CARD).trim() === '') {
          endFound = true;
          break;
        }
      }
      if (block.length < BLOCK) break;
    }
    const bytes = Buffer.concat(parts, length);
    const isEof = !endFound;
    if (bytes.length && bytes[bytes.length - 1] === 0) {
      if (isEof && bytes.every((x) => x === 0)) {
        this.walkWarnings.push({
          category: 'AstropyUserWarning',
          module: 'astropy.io.fits.header',
          message: 'Unexpected extra padding at the end of the file.  This padding may not be preserved when saving changes.',
        });
        return undefined;
      }
      this.walkWarnings.push({
        category: 'AstropyUserWarning',
        module: 'astropy.io.fits.header',
        message: 'Header block contains null bytes instead of spaces for padding, and is not FITS-compliant. Nulls may be replaced with spaces upon writing.',
      });
    }
    if (bytes.length % BLOCK !== 0) {
      this.walkWarnings.push({
        category: 'VerifyWarning',
        module: 'astropy.io.fits.hdu.hdulist',
        // as the real tool logs it: astropy's line breaks dropped
        message: `Error validating header for HDU #${index} (note: Astropy uses zero-based indexing).    Header size is not multiple of ${BLOCK}: ${bytes.length}There may be extra bytes after the last HDU or the file is corrupted.`,
      });
      return undefined;
    }
    if (!endFound) throw new FitsError('Header missing END card.');
    const text = bytes.toString('latin1');
    if (!text.startsWith('XTENSION=')) {
      throw new FitsError(`${this.basename}: HDU ${index}: expected an XTENSION card at offset ${offset}, found ${JSON.stringify(text.slice(0, 20))}`);
    }
    return text;
  }

  /** The primary header text, through the block holding END. */
  private readHeaderText(offset: number, where: string): string {
    const parts: string[] = [];
    for (let b = 0; b < MAX_HEADER_BLOCKS; b++) {
      const pos = offset + b * BLOCK;
      if (pos >= this.size) throw new FitsError(`${where}: header without END card (file ends at byte ${this.size})`);
      const block = readAt(this.fd, pos, BLOCK);
      this.bytesRead += block.length;
      if (block.length < BLOCK) {
        throw new FitsError(`${where}: file is truncated inside a header block (${block.length} of ${BLOCK} bytes at offset ${pos})`);
      }
      const text = block.toString('latin1');
      if (b === 0 && !text.startsWith('SIMPLE  =')) {
        throw new FitsError(`${where}: not a FITS file (no SIMPLE card at the start)`);
      }
      parts.push(text);
      for (let c = 0; c < BLOCK; c += CARD) {
        if (text.startsWith('END', c) && text.slice(c + 3, c + CARD).trim() === '') {
          return parts.join('');
        }
      }
    }
    throw new FitsError(`${where}: header without END card in its first ${MAX_HEADER_BLOCKS} blocks`);
  }

  private describe(index: number, cards: Card[], get: (k: string) => CardValue | undefined, headerOffset: number, dataOffset: number, where: string): Hdu {
    // the structural keywords as astropy's fast header parser (_BasicHeader) reads them to size
    // the data: a dict, so a keyword repeated (e.g. a primary header without END that runs into
    // the next header) takes its last value
    const last = new Map<string, CardValue>();
    for (const c of cards) if (c.value !== null) last.set(c.keyword, c.value);
    const hduLike = { get: (k: string) => last.get(k) };
    let kind: HduKind;
    if (index === 0) kind = 'PRIMARY';
    else {
      const x = get('XTENSION');
      kind = x === 'IMAGE' ? 'IMAGE' : x === 'BINTABLE' ? 'BINTABLE' : x === 'TABLE' ? 'TABLE' : 'UNKNOWN';
    }
    const bitpix = intCard(hduLike, 'BITPIX', where);
    if (!(bitpix in BITPIX_DTYPE)) throw new FitsError(`${where}: invalid BITPIX ${bitpix}`);
    const naxis = intCard(hduLike, 'NAXIS', where);
    if (naxis < 0 || naxis > 999) throw new FitsError(`${where}: invalid NAXIS ${naxis}`);
    const axes: number[] = [];
    for (let i = 1; i <= naxis; i++) {
      const n = intCard(hduLike, `NAXIS${i}`, where);
      if (n < 0) throw new FitsError(`${where}: negative NAXIS${i} = ${n}`);
      axes.push(n);
    }
    const pcount = kind === 'PRIMARY' || kind === 'IMAGE' ? 0 : intCard(hduLike, 'PCOUNT', where, 0);
    const gcount = intCard(hduLike, 'GCOUNT', where, 1);
    if (pcount < 0 || gcount < 0) throw new FitsError(`${where}: negative PCOUNT or GCOUNT`);
    // Sizes multiply in floating point: anything beyond 2^53 is larger than any file anyway.
    let elements = naxis === 0 ? 0 : 1;
    for (const a of axes) elements *= a;
    const dataSize = naxis === 0 ? 0 : (Math.abs(bitpix) / 8) * gcount * (pcount + elements);
    if (!Number.isFinite(dataSize) || dataSize > Number.MAX_SAFE_INTEGER) {
      throw new FitsError(`${where}: absurd data size from NAXISn/PCOUNT/GCOUNT`);
    }
    const ext = get('EXTNAME');
    const name = typeof ext === 'string' && ext.trim() ? ext.trim().toUpperCase() : index === 0 ? 'PRIMARY' : '';
    const verV = get('EXTVER');
    const ver = typeof verV === 'number' ? verV : 1;
    let dtype = BITPIX_DTYPE[bitpix];
    const bzero = num(get('BZERO'));
    const bscale = num(get('BSCALE'));
    if (bscale !== undefined && bscale !== 1) dtype = bitpix === -64 ? 'float64' : 'float32';
    else if (bitpix === 16 && bzero === 32768) dtype = 'uint16';
    else if (bitpix === 32 && bzero === 2147483648) dtype = 'uint32';
    else if (bitpix === 8 && bzero === -128) dtype = 'int8';
    else if (bzero !== undefined && bzero !== 0 && bitpix > 0) dtype = bitpix === 64 ? 'float64' : 'float32';
    const shape = kind === 'BINTABLE' || kind === 'TABLE' ? [axes[1] ?? 0] : [...axes].reverse();
    return { index, kind, name, ver, cards, headerOffset, dataOffset, dataSize, shape: naxis === 0 ? [] : shape, dtype, get };
  }

  /** The HDU named `name` (EXTNAME, case-insensitive) with EXTVER `ver`, or with that index. */
  find(name: string | number, ver?: number): Hdu | undefined {
    if (typeof name === 'number') return this.hdus[name];
    const n = name.toUpperCase();
    return this.hdus.find((h) => h.name === n && (ver === undefined || h.ver === ver));
  }

  /** Read an HDU's data bytes (tables), refusing more than `budget` bytes. */
  readData(hdu: Hdu, budget = DEFAULT_TABLE_BUDGET): Buffer {
    if (hdu.dataSize > budget) {
      throw new FitsError(`${this.basename}: HDU ${hdu.index} data of ${hdu.dataSize} bytes exceeds the ${budget}-byte limit for table reads`);
    }
    const buf = readAt(this.fd, hdu.dataOffset, hdu.dataSize);
    this.bytesRead += buf.length;
    if (buf.length < hdu.dataSize) throw new FitsError(`${this.basename}: HDU ${hdu.index}: file is truncated inside its data`);
    return buf;
  }
}

/** Headers of every HDU of a FITS file, read and closed. */
export function readFitsHeaders(filepath: string, options: FitsFileOptions = {}): Hdu[] {
  const f = FitsFile.open(filepath, options);
  try {
    return f.hdus;
  } finally {
    f.close();
  }
}
