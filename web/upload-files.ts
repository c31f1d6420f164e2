// The per-user ingest folder (`<server files>/ingest/<user>`) and the rules for what may be
// written into it. A submission takes every file of this folder; users may also drop files
// there directly (the original's upload bypass). Uploads in progress live elsewhere
// (`<server files>/uploads/<user>`, same file system) and are renamed in only when
// complete, so the ingest folder never holds a partial file.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const MAX_NAME_BYTES = 200;
const NAME_CHARACTERS = /^[A-Za-z0-9._-]+$/;

const codePoint = (c: string): string => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Why `name` may not be the name of an uploaded file, or undefined when it may. CRDS names
 * are plain ASCII (letters, digits, `.`, `_`, `-`), so anything else (paths, control
 * characters, look-alike or invisible unicode) is refused by name, never cleaned up.
 */
export function uploadNameProblem(name: string): string | undefined {
  if (name === '') return 'A file name is required.';
  if (name.includes('\0')) return 'The file name contains a NUL character.';
  const control = /[\u0000-\u001f\u007f-\u009f]/.exec(name);
  if (control) return `The file name contains a control character (${codePoint(control[0])}).`;
  if (/[/\\]/.test(name)) return "The file name contains a path separator ('/' or '\\'): upload a file, not a path.";
  if (name.startsWith('.')) return "The file name starts with a dot: hidden files and '..' are not accepted.";
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return `The file name is longer than ${MAX_NAME_BYTES} bytes.`;
  const odd = [...name].find((c) => !NAME_CHARACTERS.test(c));
  if (odd) return `The file name contains '${odd}' (${codePoint(odd)}): use only ASCII letters, digits, '.', '_' and '-'.`;
  return undefined;
}

/** A name that stays inside its folder (for deleting what the bypass put there, whatever its name). */
export const isPlainEntry = (name: string): boolean =>
  name !== '' && name !== '.' && name !== '..' && !/[/\\\0]/.test(name) && Buffer.byteLength(name) <= 255;

export class UploadFolders {
  constructor(private readonly serverFiles: string) {}

  private userFolder(kind: 'ingest' | 'uploads', username: string): string {
    // User names are checked at creation; a name that could leave the folder is refused here too.
    if (!isPlainEntry(username) || username.startsWith('.')) throw new Error(`user name ${JSON.stringify(username)} cannot name a folder`);
    return path.join(this.serverFiles, kind, username);
  }

  /** Complete files, ready to submit. */
  ingest(username: string): string {
    return this.userFolder('ingest', username);
  }

  /** Uploads in progress (chunked `.part` files and whole-file temporaries). */
  partials(username: string): string {
    return this.userFolder('uploads', username);
  }

  async ensure(username: string): Promise<{ ingest: string; partials: string }> {
    const ingest = this.ingest(username);
    const partials = this.partials(username);
    await fs.promises.mkdir(ingest, { recursive: true, mode: 0o770 });
    await fs.promises.mkdir(partials, { recursive: true, mode: 0o770 });
    return { ingest, partials };
  }

  /** Where chunks of `name` accumulate between requests. */
  partialFile(username: string, name: string): string {
    return path.join(this.partials(username), `${name}.part`);
  }

  /** A fresh temporary for a whole-file upload (two at once never share one). */
  tempFile(username: string, name: string): string {
    return path.join(this.partials(username), `${name}.${randomBytes(6).toString('hex')}.tmp`);
  }
}

export interface IngestedFile {
  name: string;
  size: number;
}

/** The regular files of an ingest folder, by name (symbolic links and folders are not submitted). */
export async function listIngested(folder: string): Promise<IngestedFile[]> {
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(folder, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const files: IngestedFile[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const stat = await fs.promises.lstat(path.join(folder, entry.name)).catch(() => undefined);
    if (stat?.isFile()) files.push({ name: entry.name, size: stat.size });
  }
  return files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
