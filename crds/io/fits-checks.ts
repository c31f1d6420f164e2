// FITS integrity checks the real certify reports through astropy while it opens a file:
//   - CHECKSUM / DATASUM verification (the FITS ones' complement checksums; astropy's
//     _verify_checksum_datasum, CRDS opening files with checksum=True);
//   - a file shorter than its HDUs say ("File may have been truncated");
//   - table TDISPn display formats astropy cannot parse (Column._verify_keywords).
// Each finding carries astropy's wording; certify reports them as warnings the way the real
// tool re-logs Python warnings ("<category> : <module> : <message>"). Data is streamed in
// bounded chunks: verifying the DATASUM of a multi-GB HDU reads it once, never all in memory.

import * as fs from 'node:fs';
import { BLOCK, FitsError, type FitsFile, type FitsWarning, type Hdu } from './fits';

const CHUNK = 8 * 1024 * 1024; // a multiple of 4

/** Ones' complement sum (with end-around carry) of big-endian 32-bit words, continuing from `sum`. */
export function onesComplementSum(buf: Buffer, sum = 0): number {
  let s = sum >>> 0;
  const whole = buf.length - (buf.length % 4);
  let acc = 0; // < 2^53 for up to 2^21 words between folds
  let words = 0;
  for (let i = 0; i < whole; i += 4) {
    acc += buf.readUInt32BE(i);
    if (++words === 1 << 20) {
      s = fold(s + acc);
      acc = 0;
      words = 0;
    }
  }
  if (whole < buf.length) {
    const last = Buffer.alloc(4);
    buf.copy(last, 0, whole);
    acc += last.readUInt32BE(0);
  }
  return fold(s + acc);
}

function fold(v: number): number {
  while (v > 0xffffffff) v = (v % 0x100000000) + Math.floor(v / 0x100000000);
  return v >>> 0;
}

const EXCLUDE = [0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60];

function encodeByte(byte: number): number[] {
  const q = Math.floor(byte / 4) + 0x30;
  const r = byte % 4;
  const ch = [q + r, q, q, q];
  let check = true;
  while (check) {
    check = false;
    for (const x of EXCLUDE) {
      for (const j of [0, 2]) {
        if (ch[j] === x || ch[j + 1] === x) {
          ch[j] += 1;
          ch[j + 1] -= 1;
          check = true;
        }
      }
    }
  }
  return ch;
}

/** The 16-character ASCII encoding of a checksum (FITS checksum convention, astropy's _char_encode). */
export function charEncode(value: number): string {
  const asc = new Array<number>(16);
  for (let i = 0; i < 4; i++) {
    const byte = (value >>> ((3 - i) * 8)) & 0xff;
    const ch = encodeByte(byte);
    for (let j = 0; j < 4; j++) asc[4 * j + i] = ch[j];
  }
  let out = '';
  for (let i = 0; i < 16; i++) out += String.fromCharCode(asc[(i + 15) % 16]);
  return out;
}

function readRange(f: FitsFile, start: number, length: number, each: (chunk: Buffer) => void): void {
  const fd = fs.openSync(f.filepath, 'r');
  try {
    let pos = start;
    const end = Math.min(start + length, f.size);
    const buf = Buffer.alloc(Math.min(CHUNK, Math.max(0, end - start)));
    while (pos < end) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos);
      if (n <= 0) break;
      each(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** _calculate_datasum: the sum of the HDU's data bytes as stored, padding included (as astropy's _data_size). */
export function dataSum(f: FitsFile, hdu: Hdu): number {
  let s = 0;
  readRange(f, hdu.dataOffset, Math.ceil(hdu.dataSize / BLOCK) * BLOCK, (chunk) => {
    s = onesComplementSum(chunk, s);
  });
  return s;
}

/** The header bytes with the CHECKSUM value zeroed, as astropy re-serializes it before summing. */
function zeroedHeader(f: FitsFile, hdu: Hdu): Buffer {
  const bytes = Buffer.alloc(hdu.dataOffset - hdu.headerOffset);
  readRange(f, hdu.headerOffset, bytes.length, (() => {
    let at = 0;
    return (chunk: Buffer) => {
      chunk.copy(bytes, at);
      at += chunk.length;
    };
  })());
  for (let c = 0; c + 80 <= bytes.length; c += 80) {
    const card = bytes.toString('latin1', c, c + 80);
    if (!card.startsWith('CHECKSUM=')) continue;
    const m = /^CHECKSUM= '([^']*)'(.*)$/.exec(card);
    let image: string;
    if (m && m[1].length === 16) image = card.slice(0, 11) + '0'.repeat(16) + card.slice(27);
    else {
      const comment = m ? /\/\s?(.*)$/.exec(m[2])?.[1]?.trimEnd() : undefined;
      image = (`CHECKSUM= '0000000000000000'` + (comment ? ` / ${comment}` : '')).padEnd(80, ' ').slice(0, 80);
    }
    bytes.write(image, c, 'latin1');
    break;
  }
  return bytes;
}

function hduLabel(hdu: Hdu): string {
  // astropy's (name, ver): the primary HDU is 'PRIMARY', an extension without EXTNAME ''
  const named = hdu.cards.some((c) => c.keyword === 'EXTNAME');
  const name = hdu.index === 0 && !named ? 'PRIMARY' : named ? hdu.name : '';
  return `('${name}', ${hdu.ver})`;
}

export type AstropyWarning = FitsWarning;

/**
 * CHECKSUM / DATASUM verification of every HDU that carries them. Throws (as astropy's open
 * does) when a DATASUM is to be verified over padded data the file does not hold.
 */
export function checksumWarnings(f: FitsFile): AstropyWarning[] {
  const out: AstropyWarning[] = [];
  for (const hdu of f.hdus) {
    const checksum = hdu.get('CHECKSUM');
    const datasumCard = hdu.get('DATASUM');
    if (checksum === undefined && datasumCard === undefined) continue;
    // astropy sums the padded data region; a file cut inside it fails the open itself
    if (datasumCard !== undefined && hdu.dataOffset + Math.ceil(hdu.dataSize / BLOCK) * BLOCK > f.size) {
      throw new FitsError('buffer is too small for requested array');
    }
    const datasum = datasumCard !== undefined ? dataSum(f, hdu) : 0;
    if (checksum !== undefined) {
      const cs = onesComplementSum(zeroedHeader(f, hdu), datasum);
      if (charEncode(~cs >>> 0) !== String(checksum)) {
        out.push({ category: 'AstropyUserWarning', module: 'astropy.io.fits.hdu.base', message: `Checksum verification failed for HDU ${hduLabel(hdu)}.` });
      }
    }
    if (datasumCard !== undefined) {
      const expected = Number(String(datasumCard).trim());
      if (!(Number.isFinite(expected) && expected === datasum)) {
        out.push({ category: 'AstropyUserWarning', module: 'astropy.io.fits.hdu.base', message: `Datasum verification failed for HDU ${hduLabel(hdu)}.` });
      }
    }
  }
  return out;
}

/** The seek past the end of a short file when astropy steps over an HDU's padded data. */
export function truncationWarnings(f: FitsFile): AstropyWarning[] {
  for (const hdu of f.hdus) {
    const end = hdu.dataOffset + Math.ceil(hdu.dataSize / BLOCK) * BLOCK;
    if (end > f.size) {
      return [{ category: 'AstropyUserWarning', module: 'astropy.io.fits.file', message: `File may have been truncated: actual file length (${f.size}) is smaller than the expected size (${end})` }];
    }
  }
  return [];
}

const TDISP_RE: Record<string, RegExp> = {
  F: /^(?:([F])(?:([0-9]+)\.{1}([0-9]+))+)|^/,
  A: /^(?:([AL])([0-9]+)+)|^/,
  I: /^(?:([IBOZ])(?:([0-9]+)(?:\.{0,1}([0-9]+))?))|^/,
  E: /^(?:([EGD])(?:([0-9]+)\.([0-9]+))+)(?:E{0,1}([0-9]+)?)|^/,
  EN: /^(?:(E[NS])(?:([0-9]+)\.{1}([0-9]+))+)/,
};
const TDISP_KEY: Record<string, string> = { F: 'F', A: 'A', L: 'A', I: 'I', B: 'I', O: 'I', Z: 'I', E: 'E', G: 'E', D: 'E', EN: 'EN', ES: 'EN' };

/** _parse_tdisp_format: undefined when astropy accepts the format, else its VerifyError text. */
export function tdispProblem(tdisp: string): string | undefined {
  const t = tdisp.trim();
  if (!t) return `Format ${t} is not recognized.`;
  const key = t[0] !== 'E' || (t.length > 1 && !'NS'.includes(t[1])) ? t[0] : t.slice(0, 2);
  const re = TDISP_RE[TDISP_KEY[key] ?? ''];
  if (!re) return `Format ${t} is not recognized.`;
  const m = re.exec(t);
  if (!m || m[1] === undefined) return `Format ${t} is not recognized.`;
  return undefined;
}

/** The TDISPn keywords of each table HDU that astropy refuses while reading the columns. */
export function tdispWarnings(f: FitsFile): AstropyWarning[] {
  const out: AstropyWarning[] = [];
  for (const hdu of f.hdus) {
    if (hdu.kind !== 'BINTABLE' && hdu.kind !== 'TABLE') continue;
    const n = Number(hdu.get('TFIELDS') ?? 0);
    for (let i = 1; i <= n; i++) {
      const disp = hdu.get(`TDISP${i}`);
      if (disp === undefined || disp === null || disp === '') continue;
      let msg: string | undefined;
      if (typeof disp !== 'string') {
        msg = `Column disp option (TDISPn) must be a string (got ${String(disp)}). The invalid value will be ignored for the purpose of formatting the data in this column.`;
      } else if (hdu.kind === 'TABLE' && disp[0].toUpperCase() === 'L') {
        msg = "Column disp option (TDISPn) may not use the 'L' format with ASCII table columns.  The invalid value will be ignored for the purpose of formatting the data in this column.";
      } else {
        const problem = tdispProblem(disp);
        if (problem) msg = `Column disp option (TDISPn) failed verification: ${problem} The invalid value will be ignored for the purpose of formatting the data in this column.`;
      }
      if (msg) out.push({ category: 'VerifyWarning', module: 'astropy.io.fits.column', message: `Invalid keyword for column ${i}: ${msg}` });
    }
  }
  return out;
}

/**
 * The primary header checks of astropy's verify('exception') that certify runs on opening a
 * FITS file (_ImageBaseHDU._verify): an NAXISj keyword beyond NAXIS (e.g. a primary header
 * without END that ran into the next header). The texts of astropy's VerifyError, or [] when
 * it passes. (Its other checks, such as the place of EXTEND, are not reproduced.)
 */
export function primaryVerifyErrors(f: FitsFile): string[] {
  const hdu = f.hdus[0];
  if (!hdu) return [];
  const out: string[] = [];
  const naxis = hdu.get('NAXIS');
  if (typeof naxis !== 'number') return out;
  for (const c of hdu.cards) {
    const m = /^NAXIS(\d+)$/.exec(c.keyword);
    if (m && Number(m[1]) > naxis) out.push(`NAXISj keyword out of range ('${c.keyword}' when NAXIS == ${naxis})`);
  }
  return out;
}
