// The sha1sum of a mapping (crds-rules.md §2): SHA-1 of the file text with every line that
// contains "sha1sum" removed, lines split like Python's str.splitlines(keepends=True).
import { createHash } from 'node:crypto';
import { ChecksumError } from './errors';

// Python splitlines() boundaries besides \n: \r, \r\n, \v, \f, \x1c-\x1e, \x85, \u2028, \u2029.
const RARE_BOUNDARY = /[\r\v\f\x1c-\x1e\x85\u2028\u2029]/;
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

/** The CRDS mapping checksum of `text` (lower-case hex). */
export function mappingChecksum(text: string): string {
  const hash = createHash('sha1');
  if (!RARE_BOUNDARY.test(text)) {
    // Fast path for '\n'-only text: hash the spans between the removed lines.
    let from = 0;
    let at = text.indexOf('sha1sum');
    while (at !== -1) {
      const lineStart = text.lastIndexOf('\n', at) + 1;
      const nl = text.indexOf('\n', at);
      const lineEnd = nl === -1 ? text.length : nl + 1;
      if (lineStart > from) hash.update(text.slice(from, lineStart), 'utf8');
      from = lineEnd;
      at = text.indexOf('sha1sum', lineEnd);
    }
    if (from < text.length) hash.update(text.slice(from), 'utf8');
  } else {
    for (const line of splitlinesKeepEnds(text)) {
      if (!line.includes('sha1sum')) hash.update(line, 'utf8');
    }
  }
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
