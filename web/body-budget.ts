// One budget for the bytes of request bodies a web process holds in memory at once (JSON-RPC
// bodies, form posts). Each body already has its own limit; without a total, a few hundred
// concurrent near-limit bodies grow the process to gigabytes. Past the total, a request is
// answered 503 (Retry-After) at once rather than buffered. Uploads stream to disk and hold
// no more than a chunk, so they do not count.
import type { NextFunction, Request, Response } from 'express';

/** Default total: CRDS_MAX_HELD_BODY_BYTES, else 64 MiB (four of the largest JSON-RPC bodies). */
export const DEFAULT_HELD_BODY_BYTES = 64 * 1024 * 1024;

export class BodyBudget {
  private held = 0;
  private most = 0;

  constructor(readonly total = heldBytesFromEnv()) {}

  /** Bytes held now (for /metrics and tests). */
  get inUse(): number {
    return this.held;
  }

  /** Takes n bytes if they fit; false (nothing taken) otherwise. */
  take(n: number): boolean {
    if (this.held + n > this.total) return false;
    this.held += n;
    this.most = Math.max(this.most, this.held);
    return true;
  }

  /** The most bytes held at once so far. */
  get peak(): number {
    return this.most;
  }

  give(n: number): void {
    this.held = Math.max(0, this.held - n);
  }

  /**
   * Express middleware for bodies parsed in memory (forms): reserves the declared length, or
   * `parserLimit` when none is declared (chunked), until the response ends. Multipart bodies
   * (uploads, streamed to disk) pass.
   */
  forms(parserLimit: number): (req: Request, res: Response, next: NextFunction) => void {
    return (req, res, next) => {
      const declared = Number(req.headers['content-length'] ?? NaN);
      const hasBody = req.headers['transfer-encoding'] !== undefined || declared > 0;
      if (!hasBody || /^multipart\//i.test(req.headers['content-type'] ?? '')) return next();
      const n = Number.isFinite(declared) ? Math.min(declared, parserLimit) : parserLimit;
      if (!this.take(n)) return busy(res);
      let given = false;
      const release = () => {
        if (!given) this.give(n);
        given = true;
      };
      res.once('finish', release);
      res.once('close', release);
      next();
    };
  }
}

/** 503 with a short retry time, closing the connection (its body is not read). */
export function busy(res: import('node:http').ServerResponse, body = 'The server is busy: retry in a second.\n', type = 'text/plain'): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(503, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Retry-After': '1', Connection: 'close' });
  res.end(body);
}

function heldBytesFromEnv(): number {
  const raw = process.env.CRDS_MAX_HELD_BODY_BYTES;
  const n = raw === undefined ? DEFAULT_HELD_BODY_BYTES : Number(raw);
  if (!Number.isInteger(n) || n < 1024 * 1024) throw new Error(`CRDS_MAX_HELD_BODY_BYTES must be an integer of at least 1048576, not '${raw}'`);
  return n;
}
