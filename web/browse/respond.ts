// Every browsing page has a JSON twin: `?format=json`, or an Accept header that prefers JSON
// to HTML, gets the page's data instead of the page.
import type { Request, Response } from 'express';

export function wantsJson(req: Request): boolean {
  if (req.query.format === 'json') return true;
  if (req.query.format === 'html') return false;
  return req.accepts(['html', 'json']) === 'json';
}

/** Renders `view` with `data`, or answers `json` (default: `data`) to a JSON client. */
export function respond(req: Request, res: Response, view: string, data: Record<string, unknown>, json: unknown = data): void {
  res.vary('Accept');
  if (wantsJson(req)) res.json(json);
  else res.render(view, data);
}

/** A clear 404, as a page or as JSON. */
export function notFound(req: Request, res: Response, message: string): void {
  res.status(404);
  if (wantsJson(req)) res.json({ error: 'not found', message });
  else res.render('error', { title: 'Not found', message });
}

/** A refused request (a bad filter, an absurd page size): 400 with the reason. */
export function badRequest(req: Request, res: Response, message: string): void {
  res.status(400);
  if (wantsJson(req)) res.json({ error: 'bad request', message });
  else res.render('error', { title: 'Bad request', message });
}

/** One string query parameter (the last when repeated), trimmed; '' when absent. */
export function param(req: Request, name: string): string {
  const v = req.query[name];
  const s = Array.isArray(v) ? v[v.length - 1] : v;
  return typeof s === 'string' ? s.trim() : '';
}
