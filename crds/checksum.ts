// The sha1sum of a mapping (crds-rules.md §2): SHA-1 of the file text with every line that
// contains "sha1sum" removed, lines split like Python's str.splitlines(keepends=True).
import { createHash } from 'node:crypto';
import { ChecksumError } from './errors';

// Python splitlines() boundaries: \n, \r, \r\n, \v, \f, \x1c-\x1e, \x85, \u2028, \u2029.
const PY_LINE = /[^\n\r\v\f\x1c-\x1e\x85\u2028\u2029]*(?:\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029])?/g;

/** Python `text.splitlines(True)`. */
export function splitlinesKeepEnds(text: string): string[] {
  const lines: string[] = [];
  PY_LINE.lastIndex = 0;
  for (;;) {
    const start = PY_LINE.lastIndex;
    if (start >= text.length) break;
    const m = PY_LINE.exec(text)!;
    lines.push(m[0]);
  }
  return lines;
}

const isBoundary = (c: number): boolean =>
  c === 10 || c === 13 || c === 11 || c === 12 || c === 0x1c || c === 0x1d || c === 0x1e || c === 0x85 || c === 0x2028 || c === 0x2029;

/**
 * The last Hash object, kept alive: V8 holds the Hash instance map (a field transition) weakly,
 * and when it dies in a full GC the optimized mappingChecksum embedding it is deoptimized.
 */
let lastHash: unknown;

/**
 * The CRDS mapping checksum of `text` (lower-case hex). Only the lines holding "sha1sum" are
 * removed, so line boundaries (Python splitlines: \n, \r\n, \r, \v, \f, \x1c-\x1e, \x85,
 * \u2028, \u2029) are looked for only around those occurrences; the rest is hashed as is.
 */
export function mappingChecksum(text: string): string {
  const hash = createHash('sha1');
  lastHash = hash;
  let from = 0;
  let at = text.indexOf('sha1sum');
  while (at !== -1) {
    let lineStart = at;
    while (lineStart > from && !isBoundary(text.charCodeAt(lineStart - 1))) lineStart--;
    let lineEnd = at + 7;
    while (lineEnd < text.length && !isBoundary(text.charCodeAt(lineEnd))) lineEnd++;
    if (lineEnd < text.length) {
      lineEnd += text.charCodeAt(lineEnd) === 13 && text.charCodeAt(lineEnd + 1) === 10 ? 2 : 1;
    }
    if (lineStart > from) hash.update(text.slice(from, lineStart), 'utf8');
    from = lineEnd;
    at = text.indexOf('sha1sum', lineEnd);
  }
  if (from < text.length) hash.update(text.slice(from), 'utf8');
  return hash.digest('hex');
}

/**
 * Verify the recorded `sha1sum` (the raw header value, or undefined when absent) against the
 * text. Throws ChecksumError with the real library's messages.
 */
export function verifyChecksum(text: string, recorded: unknown, name: string): void {
  if (recorded === undefined || recorded === null) {
    throw new ChecksumError(`sha1sum is missing in ${pyQuote(name)}`);
  }
  if (mappingChecksum(text) !== recorded) {
    throw new ChecksumError(`sha1sum mismatch in ${pyQuote(name)}`);
  }
}

function pyQuote(s: string): string {
  return s.includes("'") && !s.includes('"') ? `"${s}"` : `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
