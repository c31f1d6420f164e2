// Uploads into the user's ingest folder (crds-protocol.md §5.1, §5.3; docs/submission-protocol.md
// §5.3–5.4): multipart through connect-busboy, streamed to disk with backpressure (memory
// stays flat whatever the size), whole files or the real client's `Content-Range` chunks.
//
// A whole file is written to a temporary and renamed in when complete. Chunks accumulate in
// `<name>.part`, which always ends on a chunk boundary: a chunk that fails (dropped
// connection, full disk, short body) is cut off again, so its size says where to resume
// (GET /upload/chunked/?file=<name>). Only the last chunk renames it into the ingest folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough, Transform, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import connectBusboy from 'connect-busboy';
import express, { type Request, type Response } from 'express';
import type busboy from 'busboy';
import { clientGet, requireLogin } from './accounts';
import { CSRF_FIELD, csrfHeader, csrfMatches } from './sessions';
import { isPlainEntry, listIngested, uploadNameProblem, type UploadFolders } from './upload-files';

export interface UploadsDeps {
  folders: UploadFolders;
  /** Largest file accepted, in bytes. */
  maxUploadBytes: number;
  /** What one user may hold in uploads in progress and the ingest folder (CRDS_USER_QUOTA_BYTES / _FILES). */
  quota?: { bytes: number; files: number };
}

/** Files one upload request may carry; more, and the request keeps none of them (413). */
export const MAX_FILES_PER_UPLOAD = 100;

/** The real client's chunk size; the browser page uses the same. */
export const UPLOAD_CHUNK_SIZE = 2_000_000;
/**
 * Bytes each stage of an upload (busboy, counter, file) buffers. Small on purpose: buffers
 * still queued when V8's young generation is collected are promoted and then live until a
 * full collection, so deep queues show up as server memory during a long upload.
 */
const STAGE_BYTES = 128 * 1024;

export interface ContentRange {
  start: number;
  end: number; // inclusive
  total: number;
}

/** `bytes <start>-<end>/<total>`, end inclusive; undefined when absent, an Error when malformed. */
export function parseContentRange(header: string | undefined): ContentRange | Error | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes (\d{1,15})-(\d{1,15})\/(\d{1,15})$/.exec(header.trim());
  const [start, end, total] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [];
  if (start === undefined || end === undefined || total === undefined || start > end || end >= total) {
    return new Error(`Content-Range ${JSON.stringify(header)} is not valid: expected 'bytes <start>-<end>/<total>' with start <= end < total.`);
  }
  return { start, end, total };
}

/** A refusal with the HTTP status that says why. */
class UploadError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface FileResult {
  name: string;
  size?: number;
  /** For a chunk: false until the last one has arrived. */
  complete?: boolean;
  deleteUrl?: string;
  deleteType?: 'DELETE';
  error?: string;
}

const deleteUrl = (name: string): string => `/upload/delete/${encodeURIComponent(name)}`;

/** Counts the bytes going through, and fails past `limit` (a chunk longer than its Content-Range, a quota). */
class ByteCounter extends Transform {
  bytes = 0;
  constructor(
    private readonly limit: number,
    private readonly refusal = () => new UploadError(400, `The body holds more bytes than Content-Range says (${limit}).`),
  ) {
    super({ highWaterMark: STAGE_BYTES });
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) return callback(this.refusal());
    callback(null, chunk);
  }
}

/** A whole file received, waiting for the end of its request to be renamed in. */
interface PendingFile {
  temp: string;
  target: string;
}

/**
 * Streams one file part into `destination` (through `counter` if given) with backpressure.
 * A failure destroys only our side; the part is then read on to its end, so busboy goes on
 * to the rest of the form and a reply can still be sent.
 */
async function streamPart(part: busboy.FileStream, destination: Writable, counter?: Transform): Promise<void> {
  const pass = new PassThrough({ highWaterMark: STAGE_BYTES });
  part.on('error', (err) => pass.destroy(err)); // a dropped connection reaches us through busboy
  part.pipe(pass);
  try {
    await (counter ? pipeline(pass, counter, destination) : pipeline(pass, destination));
  } catch (err) {
    part.unpipe(pass);
    part.resume();
    throw err;
  }
}

/** What a failed write means to the uploader. */
function writeFailure(err: unknown, name: string): UploadError {
  if (err instanceof UploadError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new UploadError(507, `The server's disk is full: the upload of '${name}' failed and was discarded.`);
  if (code === 'EFBIG') return new UploadError(413, `'${name}' is larger than the file system allows.`);
  return new UploadError(400, `The upload of '${name}' did not complete: ${(err as Error).message}.`);
}

export function uploadsRouter(deps: UploadsDeps): express.Router {
  const { folders } = deps;
  const router = express.Router();
  const login = requireLogin(true);
  // One write at a time per (user, file): a resumed chunk waits for the cleanup of the dropped one.
  const busy = new Map<string, Promise<unknown>>();
  const serialized = <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const before = busy.get(key) ?? Promise.resolve();
    const mine = before.catch(() => undefined).then(work);
    const tail = mine.catch(() => undefined);
    busy.set(key, tail);
    void tail.then(() => busy.get(key) === tail && busy.delete(key));
    return mine;
  };

  const parseMultipart = connectBusboy({
    preservePath: true, // see the client's name, '../' and all, so it can be refused rather than trimmed
    defParamCharset: 'utf8',
    highWaterMark: STAGE_BYTES,
    fileHwm: STAGE_BYTES,
    // busboy marks a file truncated when it reaches fileSize: one byte more than allowed.
    limits: { fileSize: deps.maxUploadBytes + 1, files: MAX_FILES_PER_UPLOAD, fields: 20, fieldSize: 4096, parts: MAX_FILES_PER_UPLOAD + 30 },
  });

  /** The bytes of the user's ingest folder and uploads in progress (all but `except`), and the ingest folder's files. */
  async function usage(username: string, except?: string): Promise<{ bytes: number; files: number }> {
    const ingested = await listIngested(folders.ingest(username));
    let bytes = ingested.reduce((n, f) => n + f.size, 0);
    const partials = folders.partials(username);
    for (const name of await fs.promises.readdir(partials).catch(() => [] as string[])) {
      const full = path.join(partials, name);
      if (full !== except) bytes += (await fs.promises.lstat(full).catch(() => undefined))?.size ?? 0;
    }
    return { bytes, files: ingested.length };
  }

  const quotaRefusal = (name: string, why: string) => new UploadError(413, `'${name}' would exceed your upload quota (${why}): submit or delete files first.`);

  /** A whole file: a temporary, renamed into the ingest folder by `pending`'s commit once the whole request is read. */
  async function writeWhole(username: string, name: string, stream: busboy.FileStream, pending: PendingFile[]): Promise<FileResult> {
    const { ingest } = await folders.ensure(username);
    const temp = folders.tempFile(username, name);
    try {
      let counter: ByteCounter | undefined;
      if (deps.quota) {
        const used = await usage(username);
        if (used.files + pending.length >= deps.quota.files) throw quotaRefusal(name, `${deps.quota.files} files`);
        counter = new ByteCounter(Math.max(0, deps.quota.bytes - used.bytes), () => quotaRefusal(name, `${deps.quota!.bytes} bytes`));
      }
      await streamPart(stream, fs.createWriteStream(temp, { flags: 'wx', mode: 0o660, highWaterMark: STAGE_BYTES }), counter);
      if (stream.truncated) throw new UploadError(413, `'${name}' is larger than the ${deps.maxUploadBytes}-byte upload limit.`);
      const { size } = await fs.promises.stat(temp);
      pending.push({ temp, target: path.join(ingest, name) });
      return { name, size, complete: true, deleteUrl: deleteUrl(name), deleteType: 'DELETE' };
    } catch (err) {
      await fs.promises.rm(temp, { force: true });
      throw writeFailure(err, name);
    }
  }

  /** One chunk at `range.start` of `<name>.part`; the last one completes the file. */
  function writeChunk(username: string, name: string, stream: busboy.FileStream, range: ContentRange): Promise<FileResult> {
    return serialized(`${username}/${name}`, async () => {
      const { ingest } = await folders.ensure(username);
      const part = folders.partialFile(username, name);
      const expected = range.end - range.start + 1;
      let flags = 'w'; // a chunk at 0 starts the file over
      if (range.start > 0) {
        const have = await fs.promises.stat(part).then((s) => s.size, () => undefined);
        if (have === undefined) throw new UploadError(409, `No upload of '${name}' is in progress: send it from byte 0.`);
        if (have < range.start) throw new UploadError(409, `The upload of '${name}' has ${have} bytes: send the chunk that starts at byte ${have}.`);
        if (have > range.start) await fs.promises.truncate(part, range.start); // a chunk sent again
        flags = 'r+';
      }
      if (deps.quota) {
        const used = await usage(username, part);
        if (range.start === 0 && used.files >= deps.quota.files && !(await fs.promises.lstat(path.join(ingest, name)).catch(() => undefined))) {
          throw quotaRefusal(name, `${deps.quota.files} files`);
        }
        if (used.bytes + range.total > deps.quota.bytes) throw quotaRefusal(name, `${deps.quota.bytes} bytes`);
      }
      const counter = new ByteCounter(expected);
      try {
        await streamPart(stream, fs.createWriteStream(part, { flags, start: range.start, mode: 0o660, highWaterMark: STAGE_BYTES }), counter);
        if (counter.bytes !== expected) {
          throw new UploadError(400, `The chunk of '${name}' held ${counter.bytes} bytes, but Content-Range says ${expected}.`);
        }
      } catch (err) {
        // Back to the last whole chunk; nothing at all if this was the first.
        if (range.start === 0) await fs.promises.rm(part, { force: true });
        else await fs.promises.truncate(part, range.start).catch(() => undefined);
        throw writeFailure(err, name);
      }
      if (range.end + 1 < range.total) return { name, size: range.end + 1, complete: false };
      const { size } = await fs.promises.stat(part);
      if (size !== range.total) throw new UploadError(409, `The upload of '${name}' has ${size} bytes, not ${range.total}: send it again from byte 0.`);
      await fs.promises.rename(part, path.join(ingest, name));
      return { name, size, complete: true, deleteUrl: deleteUrl(name), deleteType: 'DELETE' };
    });
  }

  async function receive(req: Request, res: Response): Promise<void> {
    const username = req.session!.username;
    const range = parseContentRange(req.get('content-range'));
    const bb = req.busboy;
    if (!bb || !req.is('multipart/form-data')) {
      res.status(400).json({ error: "Expected a multipart/form-data upload with a 'files' part." });
      return;
    }
    let fieldToken: string | undefined;
    // Settled at once, so a refusal is never an unhandled rejection while the body streams on.
    const outcomes: Promise<FileResult | (UploadError & { fileName: string })>[] = [];
    const track = (name: string, stream: busboy.FileStream, write: Promise<FileResult>) => {
      outcomes.push(
        write.catch((err: unknown) => {
          stream.resume(); // read past whatever is left of this part
          return Object.assign(writeFailure(err, name), { fileName: name });
        }),
      );
    };
    let fileCount = 0;
    const pending: PendingFile[] = [];
    // busboy ignores what comes past a limit: the request then keeps nothing at all.
    let overLimit: string | undefined;
    bb.on('filesLimit', () => (overLimit ??= `More than ${MAX_FILES_PER_UPLOAD} files in one upload: none was kept; send at most ${MAX_FILES_PER_UPLOAD} per request.`));
    bb.on('partsLimit', () => (overLimit ??= 'Too many parts in one upload: none was kept.'));
    bb.on('fieldsLimit', () => (overLimit ??= 'Too many form fields in one upload: none was kept.'));
    bb.on('field', (fieldName, value) => {
      if (fieldName === CSRF_FIELD) fieldToken = value;
    });
    bb.on('file', (fieldName, stream, info) => {
      // A dropped connection destroys the part with an error. The write path handles it once
      // it starts, but a refused part, or one still waiting for its turn, has no other
      // listener: without this one the error event would take the whole process down.
      stream.on('error', () => undefined);
      const name = info.filename ?? '';
      fileCount += 1;
      const refuse = (status: number, message: string) => track(name, stream, Promise.reject(new UploadError(status, message)));
      // The token comes before the file, as the client and our page send it.
      if (!csrfMatches(req, csrfHeader(req) ?? fieldToken)) return refuse(403, 'CSRF verification failed: the CSRF token is missing or incorrect.');
      if (fieldName !== 'files') return refuse(400, `Unexpected file field '${fieldName}': files go in 'files'.`);
      const problem = uploadNameProblem(name);
      if (problem) return refuse(400, problem);
      if (range instanceof Error) return refuse(400, range.message);
      if (range && range.total > deps.maxUploadBytes) return refuse(413, `'${name}' (${range.total} bytes) is larger than the ${deps.maxUploadBytes}-byte upload limit.`);
      if (range && fileCount > 1) return refuse(400, 'A chunk (Content-Range) carries exactly one file.');
      if (overLimit) return refuse(413, overLimit);
      track(name, stream, range ? writeChunk(username, name, stream, range) : writeWhole(username, name, stream, pending));
    });
    // Not stream.pipeline: on a malformed form it would destroy the request, and with it the
    // chance to answer. A dropped connection destroys busboy, which fails the file being written.
    const parseError = await new Promise<Error | undefined>((resolve) => {
      bb.on('close', () => resolve(undefined));
      bb.on('error', (err: Error) => {
        req.unpipe(bb);
        req.resume(); // read past the rest of the body, then answer
        if (req.complete) resolve(err);
        req.once('end', () => resolve(err)).once('close', () => resolve(err));
      });
      req.on('close', () => {
        if (!req.complete) bb.destroy(new Error('the connection closed before the upload was complete'));
      });
      req.pipe(bb);
    });
    const results = await Promise.all(outcomes);
    if (overLimit) {
      await Promise.all(pending.map((p) => fs.promises.rm(p.temp, { force: true })));
      if (req.complete) res.status(413).json({ files: [], error: overLimit });
      return;
    }
    for (const p of pending) await fs.promises.rename(p.temp, p.target);
    if (!req.complete) return; // the connection dropped: nobody left to answer
    const failed = results.find((r): r is UploadError & { fileName: string } => r instanceof UploadError);
    const replies = results.map((r) => (r instanceof UploadError ? { name: r.fileName, error: r.message } : r));
    if (failed) {
      res.status(failed.status).json({ files: replies, error: replies.flatMap((r) => ('error' in r && r.error ? [r.error] : [])).join(' ') });
    } else if (parseError || fileCount === 0) {
      res.status(400).json({ files: replies, error: parseError ? `The upload was malformed: ${parseError.message}.` : "No file in the 'files' part." });
    } else {
      res.json({ files: replies });
    }
  }

  // GET: the client only wants a csrftoken (set on every response); with ?file=<name> it
  // also says how many bytes of that upload have arrived, so a chunked upload can resume.
  router.get('/upload/chunked/', login, async (req, res) => {
    const username = req.session!.username;
    const name = typeof req.query.file === 'string' ? req.query.file : undefined;
    if (name === undefined) {
      res.json({ files: (await listIngested(folders.ingest(username))).map((f) => ({ ...f, deleteUrl: deleteUrl(f.name), deleteType: 'DELETE' })) });
      return;
    }
    const problem = uploadNameProblem(name);
    if (problem) {
      res.status(400).json({ name, error: problem });
      return;
    }
    const partial = await fs.promises.stat(folders.partialFile(username, name)).catch(() => undefined);
    const done = await fs.promises.lstat(path.join(folders.ingest(username), name)).catch(() => undefined);
    res.json({ name, uploaded: partial?.size ?? 0, complete: !partial && !!done?.isFile(), size: done?.isFile() ? done.size : undefined });
  });
  router.post('/upload/chunked/', login, parseMultipart, receive);
  // The original's older single-request uploader; a GET of it lists the folder.
  router.post('/upload/new/', login, parseMultipart, receive);
  router.get('/upload/new/', login, (_req, res) => res.redirect(302, '/upload/list/'));

  router.get('/upload/list/', login, async (req, res) => {
    const files = await listIngested(folders.ingest(req.session!.username));
    res.json({ files: files.map((f) => ({ name: f.name, size: f.size, deleteUrl: deleteUrl(f.name), deleteType: 'DELETE' })) });
  });

  // The client deletes with GET; the page with DELETE and its token.
  const remove = async (req: Request, res: Response) => {
    const name = String(req.params.name);
    if (!isPlainEntry(name)) {
      res.status(400).json({ error: uploadNameProblem(name) ?? `'${name}' is not a file name.` });
      return;
    }
    const username = req.session!.username;
    const file = path.join(folders.ingest(username), name);
    const stat = await fs.promises.lstat(file).catch(() => undefined);
    // An abandoned chunked upload of the same name goes too.
    const partial = uploadNameProblem(name) ? false : await fs.promises.rm(folders.partialFile(username, name)).then(() => true, () => false);
    if (!stat?.isFile() && !stat?.isSymbolicLink() && !partial) {
      res.status(404).json({ error: `No uploaded file '${name}'.` });
      return;
    }
    if (stat) await fs.promises.rm(file, { force: true });
    res.json(true);
  };
  router.get('/upload/delete/:name', login, (req, res, next) => {
    if (!clientGet(req)) {
      res.status(403).json({ error: 'Delete uploads from this site’s own pages.' });
      return;
    }
    remove(req, res).catch(next);
  });
  router.delete('/upload/delete/:name', login, (req, res, next) => {
    if (!csrfMatches(req, csrfHeader(req))) {
      res.status(403).json({ error: 'CSRF verification failed: the X-CSRFToken header is missing or incorrect.' });
      return;
    }
    remove(req, res).catch(next);
  });

  return router;
}
