// File downloads (crds-protocol.md §3.1): /unchecked_get/{mappings,references}/<obs>/<name>
// streams a catalogued, distributable file from the server's file cache, with Range support
// and an exact Content-Length; /get/<name> is the original's "checked" URL, a 302 to it.
// Anything else (unknown or undistributable name, another observatory, '..', encoded
// slashes, odd characters) is the same bare 404, so a probe learns nothing and no request
// can read outside the file cache.
import * as fs from 'node:fs';
import type { ServerResponse } from 'node:http';
import * as path from 'node:path';
import express, { type Response, type Router } from 'express';
import type { Config } from '../config';
import { FILE_NAME_RE } from '../db/catalog-import';
import type { CatalogView, FileEntry } from './catalog-view';

const KIND_OF: Record<string, FileEntry['type']> = { mappings: 'mapping', references: 'reference' };

/** One `bytes=a-b` / `a-` / `-n` range of a Range header; undefined: the whole file (also for forms we do not serve, as HTTP allows). */
export function byteRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

const CHUNK_BYTES = 1 << 20;

/**
 * 1 MiB buffers kept between downloads: allocating two per download (even of a small file)
 * made external memory churn, and the collections it set off delayed every other request.
 */
const spareBuffers: Buffer[] = [];
const SPARE_BUFFERS = 8;
const takeBuffer = (): Buffer => spareBuffers.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES);
const giveBack = (buffers: Buffer[]): void => {
  for (const b of buffers) if (spareBuffers.length < SPARE_BUFFERS) spareBuffers.push(b);
};

/**
 * Writes bytes [start, end] of `file` to `res` through two 1 MiB buffers used in turn, each
 * refilled once the socket has taken its last contents. A read stream allocates a buffer per
 * read instead, and on the web's heap the garbage collections that allocation triggers took a
 * fifth of the CPU of a download and halved what a Python client (crds sync) received.
 */
export async function sendRange(file: string, start: number, end: number, res: ServerResponse): Promise<void> {
  const handle = await fs.promises.open(file, 'r');
  const closed = new Promise<void>((resolve) => res.once('close', resolve));
  // A range within one chunk needs one buffer; the second is taken only for longer ones.
  const buffers = [takeBuffer(), ...(end - start + 1 > CHUNK_BYTES ? [takeBuffer()] : [])];
  let reusable = false;
  try {
    const taken: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
    for (let pos = start, i = 0; pos <= end; i = (i + 1) % buffers.length) {
      await Promise.race([taken[i], closed]);
      if (res.destroyed) return; // the client went away
      const { bytesRead } = await handle.read(buffers[i]!, 0, Math.min(CHUNK_BYTES, end - pos + 1), pos);
      if (bytesRead === 0) throw new Error(`the file ended at byte ${pos}, before ${end + 1}`);
      // Settles when the socket has the bytes, or has failed (then res.destroyed says so).
      taken[i] = new Promise<void>((resolve) => res.write(buffers[i]!.subarray(0, bytesRead), () => resolve()));
      pos += bytesRead;
    }
    await Promise.race([Promise.all(taken), closed]);
    // Only a buffer the socket has finished with may serve the next download.
    reusable = !res.destroyed;
    if (!res.destroyed) res.end();
  } finally {
    await handle.close();
    if (reusable) giveBack(buffers);
  }
}

function notFound(res: Response): void {
  res.status(404).type('text/plain').send('Not found\n');
}

export function downloadsRouter(deps: { config: Config; view: CatalogView }): Router {
  const { config, view } = deps;
  const router = express.Router();

  /** The catalogued, distributable file `name` of `kind`, or undefined. */
  const distributable = async (kind: string, observatory: string, name: string): Promise<FileEntry | undefined> => {
    if (!(kind in KIND_OF) || observatory !== config.observatory || !FILE_NAME_RE.test(name)) return undefined;
    const file = (await view.current()).files.get(name);
    return file && file.type === KIND_OF[kind] && file.available ? file : undefined;
  };

  router.get('/unchecked_get/:kind/:observatory/:name', async (req, res) => {
    const { kind, observatory, name } = req.params as Record<string, string>;
    const entry = await distributable(kind, observatory, name);
    if (!entry) return notFound(res);
    const file = path.join(config.fileCache, kind, config.observatory, name);
    let size: number;
    try {
      size = (await fs.promises.stat(file)).size;
    } catch (exc) {
      // Catalogued but missing from the cache: still a bare 404, and a line in the log.
      console.error(`downloads: ${name}: ${(exc as Error).message}`);
      return notFound(res);
    }
    const range = byteRange(req.headers.range, size);
    if (range === 'unsatisfiable') {
      res.status(416).set('Content-Range', `bytes */${size}`).end();
      return;
    }
    const { start, end } = range ?? { start: 0, end: size - 1 };
    res.status(range ? 206 : 200).set({
      'Content-Type': entry.type === 'mapping' ? 'text/plain; charset=utf-8' : 'application/octet-stream',
      'Content-Disposition': `attachment; filename=${name}`,
      'Content-Length': String(Math.max(0, end - start + 1)),
      'Accept-Ranges': 'bytes',
      ...(range ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
    });
    if (req.method === 'HEAD' || size === 0) return void res.end();
    try {
      await sendRange(file, start, end, res);
    } catch (exc) {
      console.error(`downloads: ${name}: ${(exc as Error).message}`);
      res.destroy();
    }
  });

  router.get('/get/:name', async (req, res) => {
    const { name } = req.params as Record<string, string>;
    const snapshotFile = FILE_NAME_RE.test(name) ? (await view.current()).files.get(name) : undefined;
    if (!snapshotFile || !snapshotFile.available) return notFound(res);
    const kind = snapshotFile.type === 'mapping' ? 'mappings' : 'references';
    res.redirect(302, `${config.siteUrl}/unchecked_get/${kind}/${config.observatory}/${name}`);
  });

  return router;
}
