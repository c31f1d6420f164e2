// The certified bytes are the server's own from ingest to delivery (issue 13 item 11). Ingest
// used to hard-link the uploaded file, so an in-place write to the user's ingest copy (their
// own upload area, which they may also fill directly) changed what certify had passed and what
// the archive then received. Ingest now copies each file into the submission's folder, a
// server-owned, read-only file whose SHA-1 is computed from the very bytes written; the cache
// and the archive's delivery are hard links of that copy.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface CertifiedCopy {
  size: number;
  sha1sum: string;
}

/**
 * Copies `from` to `to` (temporary, fsync, read-only, rename), hashing what it writes;
 * the copy keeps the source's modification time, so `sameUpload` can tell at delivery
 * whether the ingest copy is still the file submitted.
 */
export async function certifiedCopy(from: string, to: string, progress?: (bytes: number) => void): Promise<CertifiedCopy> {
  const hash = createHash('sha1');
  let size = 0;
  const tmp = `${to}.${randomBytes(4).toString('hex')}.tmp`;
  // O_NOFOLLOW: a symbolic link planted in the ingest folder is refused, not followed.
  const source = await fs.promises.open(from, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const { mtime, atime } = await source.stat();
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        progress?.((size += chunk.length));
        callback(null, chunk);
      },
    });
    await pipeline(source.createReadStream({ autoClose: false, highWaterMark: 8 << 20 }), hashing, fs.createWriteStream(tmp, { flags: 'wx', mode: 0o600 }));
    const written = await fs.promises.open(tmp, 'r+');
    try {
      await written.sync();
      await written.utimes(atime, mtime);
      await written.chmod(0o444);
    } finally {
      await written.close();
    }
    await fs.promises.rename(tmp, to);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  } finally {
    await source.close();
  }
  return { size, sha1sum: hash.digest('hex') };
}

/** True when the ingest file still looks like the one copied (same size and modification time). */
export function sameUpload(ingestFile: string, copy: string): boolean {
  try {
    const [a, b] = [fs.statSync(ingestFile), fs.statSync(copy)];
    // utimes keeps the time to within a microsecond or so, not to the bit.
    return a.isFile() && a.size === b.size && Math.abs(a.mtimeMs - b.mtimeMs) < 1;
  } catch {
    return false;
  }
}
