// File helpers of the operations activities (backup, restore, mirror, checks): walking a
// folder, copying while hashing, verifying against a recorded size and sha1, and writing
// under a temporary name that is renamed only once the bytes are right.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';

export interface FileDigest {
  size: number;
  sha1: string;
}

/** Files at or below this size are read whole; larger ones are streamed. */
const WHOLE_FILE_BYTES = 32 * 1024 * 1024;

/** Every regular file below `root`, as paths relative to it ('/'-separated), sorted; none when it is missing. */
export function walkFiles(root: string, skip: (relative: string) => boolean = () => false): string[] {
  const out: string[] = [];
  const visit = (dir: string, prefix: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const e of entries) {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      if (skip(rel)) continue;
      if (e.isDirectory()) visit(path.join(dir, e.name), rel);
      else if (e.isFile()) out.push(rel);
    }
  };
  visit(root, '');
  return out.sort();
}

export async function digestFile(file: string): Promise<FileDigest> {
  const size = fs.statSync(file).size;
  if (size <= WHOLE_FILE_BYTES) return { size, sha1: createHash('sha1').update(fs.readFileSync(file)).digest('hex') };
  const hash = createHash('sha1');
  await pipeline(fs.createReadStream(file, { highWaterMark: 8 * 1024 * 1024 }), hash);
  return { size, sha1: hash.digest('hex') };
}

/**
 * Makes the parent folder of each file it is given, once per folder: a recursive mkdir per
 * file cost more than copying the file (thousands of small mappings per backup or restore).
 * One per operation, since folders may be removed between operations.
 */
export function parentMaker(): (file: string) => void {
  const made = new Set<string>();
  return (file) => {
    const dir = path.dirname(file);
    if (made.has(dir)) return;
    fs.mkdirSync(dir, { recursive: true });
    made.add(dir);
  };
}

/** Copies `from` to `to` (made anew, folders created) and returns the digest of the bytes written. */
export async function copyHashed(from: string, to: string, makeParent = parentMaker()): Promise<FileDigest> {
  makeParent(to);
  const size = fs.statSync(from).size;
  if (size <= WHOLE_FILE_BYTES) {
    const bytes = fs.readFileSync(from);
    fs.writeFileSync(to, bytes);
    return { size: bytes.length, sha1: createHash('sha1').update(bytes).digest('hex') };
  }
  const hash = createHash('sha1');
  let written = 0;
  const out = fs.createWriteStream(to);
  await pipeline(
    fs.createReadStream(from, { highWaterMark: 8 * 1024 * 1024 }),
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        hash.update(chunk);
        written += chunk.length;
        yield chunk;
      }
    },
    out,
  );
  return { size: written, sha1: hash.digest('hex') };
}

/** True when `file` exists with exactly this size and sha1 (the size is checked first: cheap). */
export async function matches(file: string, expected: FileDigest): Promise<boolean> {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    return false;
  }
  return size === expected.size && (await digestFile(file)).sha1 === expected.sha1;
}

/**
 * Puts a verified copy of `from` at `to`: with `link`, a hard link when both are on one file
 * system (for immutable files), else a copy; written under a temporary name, checked against
 * `expected` and renamed into place. Throws, leaving `to` untouched, when the bytes differ.
 */
export async function placeVerified(from: string, to: string, expected: FileDigest, link = true, makeParent = parentMaker()): Promise<void> {
  const tmp = `${to}.tmp-${process.pid}`;
  makeParent(to);
  fs.rmSync(tmp, { force: true });
  let digest: FileDigest;
  try {
    if (!link) throw new Error('copy');
    fs.linkSync(from, tmp);
    digest = await digestFile(tmp);
  } catch {
    fs.rmSync(tmp, { force: true });
    digest = await copyHashed(from, tmp, makeParent);
  }
  if (digest.size !== expected.size || digest.sha1 !== expected.sha1) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`${path.basename(to)}: ${digest.size} bytes, sha1 ${digest.sha1}; expected ${expected.size} bytes, sha1 ${expected.sha1}`);
  }
  fs.renameSync(tmp, to);
}

/** Total size of the files below `root` (bytes) and their count. */
export function folderUsage(root: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (const rel of walkFiles(root)) {
    try {
      bytes += fs.statSync(path.join(root, rel)).size;
      files++;
    } catch {
      /* removed while walking */
    }
  }
  return { bytes, files };
}

export function writeJsonAtomic(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(value, null, 1));
  fs.renameSync(`${file}.tmp`, file);
}
