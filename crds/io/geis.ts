// GEIS headers (HST's pre-FITS format: an ASCII header file `.rNh` of 80-character card lines
// beside a binary data file `.rNd`). Certify reads only the header file, as the real
// crds.io.geis.GeisFile does:
//   - a card's comment is dropped only when column 32 (index 31) holds '/'; otherwise the whole
//     line after the first '=' is the value (comments included, as the real reader keeps them);
//   - HISTORY lines accumulate (joined with '\n'); lines without '=' are skipped;
//   - values are strings; one pair of enclosing single quotes is removed and the inside stripped;
//   - a keyword seen twice keeps its last value (the real reader fills a dict).
// The header file is read whole but bounded (GEIS headers are a few tens of KiB).

import * as fs from 'node:fs';

/** Largest GEIS header file read (a real one is tens of KiB; this bounds hostile input). */
export const GEIS_MAX_HEADER_BYTES = 16 * 1024 * 1024;

export class GeisError extends Error {}

/** is_geis: a GEIS header or data file name (`.r0h` … `.r9d`). */
export function isGeisName(name: string): boolean {
  return /\.r[0-9][hd]$/i.test(name);
}

/** get_conjugate for data files: the header file that describes `filepath`. */
export function geisHeaderPath(filepath: string): string {
  return /\.r[0-9]d$/i.test(filepath) ? filepath.slice(0, -1) + 'h' : filepath;
}

/** GeisFile.get_raw_header on text already read (lines as Python's universal newlines split them). */
export function parseGeisHeader(text: string): Map<string, string> {
  const header = new Map<string, string>();
  const history: string[] = [];
  // readlines() keeps each line's terminator; Python's universal newlines make \r\n and \r into \n
  const lines = text.replace(/\r\n?/g, '\n').split(/(?<=\n)/);
  for (let line of lines) {
    if (line.length >= 32 && line[31] === '/') line = line.slice(0, 31);
    if (line.startsWith('HISTORY')) {
      history.push(pyStrip(line.slice('HISTORY'.length)));
      continue;
    }
    const words = line.split('=').map(pyStrip);
    if (words.length < 2) continue;
    const key = words[0];
    let value = pyStrip(words.slice(1).join('='));
    if (value && value[0] === "'" && value[value.length - 1] === "'") value = pyStrip(value.slice(1, -1));
    header.set(key, value);
  }
  header.set('HISTORY', history.join('\n'));
  return header;
}

/** Python str.strip() (whitespace as Python counts it, including \x1c-\x1f). */
function pyStrip(s: string): string {
  return s.replace(/^[\s\x1c-\x1f\x85]+|[\s\x1c-\x1f\x85]+$/g, '');
}

/** The raw header of a GEIS file (`.rNh`, or the `.rNd` beside it). */
export function readGeisHeader(filepath: string): Map<string, string> {
  const hpath = geisHeaderPath(filepath);
  let size: number;
  try {
    size = fs.statSync(hpath).size;
  } catch (e) {
    throw new GeisError(`[Errno 2] No such file or directory: '${hpath}'`, { cause: e });
  }
  if (size > GEIS_MAX_HEADER_BYTES) throw new GeisError(`GEIS header file '${hpath}' is ${size} bytes, more than the ${GEIS_MAX_HEADER_BYTES} a header can be`);
  const bytes = fs.readFileSync(hpath);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new GeisError(`'utf-8' codec can't decode GEIS header '${hpath}': not a text file`);
  }
  return parseGeisHeader(text);
}

/**
 * factory.get_filetype for a file starting "SIMPL" whose 81st byte is a newline: GEIS when every
 * line is exactly 80 characters, else FITS. Reads at most GEIS_MAX_HEADER_BYTES.
 */
export function looksLikeGeis(filepath: string): boolean {
  const fd = fs.openSync(filepath, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    if (size > GEIS_MAX_HEADER_BYTES) return false;
    const buf = Buffer.alloc(size);
    const n = fs.readSync(fd, buf, 0, size, 0);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, n));
    } catch {
      return false;
    }
    if (!text.startsWith('SIMPL') || text[80] !== '\n') return false;
    // str.splitlines(): \n, \r\n, \r and the other Unicode line boundaries
    const lines = text.split(/\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/);
    if (lines.length && lines[lines.length - 1] === '') lines.pop();
    return lines.every((l) => l.length === 80);
  } finally {
    fs.closeSync(fd);
  }
}
