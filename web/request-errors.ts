// The last Express error handler: every failure of a page or route is an answer to that
// request alone. A client's mistake that a layer reports with a 4xx status (malformed
// percent-encoding in a path, a body too large, a form that does not parse) is answered with
// that status and one short log line; anything else is a 500 page, with the stack logged.
import type { NextFunction, Request, Response } from 'express';

/** busboy's messages for unreadable request bodies. */
const BODY_PARSER_ERROR = /^(Multipart: Boundary not found|Unsupported content type|Missing Content-Type|Malformed (content type|urlencoded form|part header)|Unexpected end of (form|file))$/;

const TITLES: Record<number, string> = { 400: 'Bad request', 413: 'Request too large', 415: 'Unsupported media type' };

/** The 4xx status a failure carries (http-errors' status, a URIError from decoding), or 500. */
export function clientErrorStatus(err: unknown): number {
  if (err instanceof URIError) return 400;
  // busboy throws plain Errors for a request it cannot read (multipart without a boundary, ...).
  if (err instanceof Error && BODY_PARSER_ERROR.test(err.message)) return 400;
  const e = err as { status?: unknown; statusCode?: unknown } | null;
  const status = Number(e?.status ?? e?.statusCode);
  return Number.isInteger(status) && status >= 400 && status < 500 ? status : 500;
}

/** A request line for the log: bounded, control characters shown as '?'. */
export function shortUrl(req: { method?: string; originalUrl?: string; url?: string }): string {
  const url = (req.originalUrl ?? req.url ?? '').replace(/[\x00-\x1f\x7f]/g, '?');
  return `${req.method ?? '?'} ${url.length > 200 ? url.slice(0, 200) + '...' : url}`;
}

export function requestErrors(): (err: unknown, req: Request, res: Response, next: NextFunction) => void {
  return (err, req, res, _next) => {
    const status = clientErrorStatus(err);
    if (status < 500) {
      const what = err instanceof URIError || /decode/i.test((err as Error)?.message ?? '') ? 'malformed percent-encoding' : ((err as Error)?.message ?? String(err)).slice(0, 120);
      console.warn(`web: ${status} ${shortUrl(req)}: ${what}`);
    } else {
      console.error(`web: ${shortUrl(req)} failed:`, err);
    }
    if (res.headersSent) return void res.destroy();
    const title = TITLES[status] ?? (status < 500 ? 'Bad request' : 'Server error');
    const message = status < 500 ? 'The server could not understand this request.' : 'The server failed to answer this request; the error is logged.';
    res.status(status);
    try {
      res.render('error', { title, message }, (renderError: Error | null, html?: string) => {
        if (renderError) res.type('text/plain').send(`${title}\n`);
        else res.send(html);
      });
    } catch {
      res.type('text/plain').send(`${title}\n`);
    }
  };
}

/**
 * 400 for a NUL character in the path, query or form: no CRDS name or field holds one, and
 * SQLite's statement text ends at it (a query with one fails as malformed SQL).
 */
export function refuseNul(): (req: Request, res: Response, next: NextFunction) => void {
  const hasNul = (v: unknown): boolean => (typeof v === 'string' ? v.includes('\0') : Array.isArray(v) ? v.some(hasNul) : v !== null && typeof v === 'object' ? Object.values(v).some(hasNul) : false);
  return (req, res, next) => {
    if (/%00|\0/.test(req.url) || hasNul(req.body)) {
      console.warn(`web: 400 ${shortUrl(req)}: NUL character`);
      res.status(400).type('text/plain').send('Bad request: NUL characters are not accepted.\n');
      return;
    }
    next();
  };
}
