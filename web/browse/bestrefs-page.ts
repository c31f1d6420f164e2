// /bestrefs/: best references of one dataset under a chosen context, from a pasted header
// or an uploaded dataset file (the keywords of all its FITS headers, as the real library reads
// a dataset; data is discarded as it arrives), with the rmap row that chose each reference.
import busboy from 'busboy';
import express, { Router, type Request } from 'express';
import { FitsHeaderUnion } from '../../crds/io/fits-header-union';
import { defaultContexts } from '../../db/catalog';
import { FILE_NAME_RE } from '../../db/catalog-import';
import { csrfMatches, CSRF_FIELD } from '../sessions';
import { rmapRows, type RmapRow } from './rules-index';
import { badRequest, respond } from './respond';
import type { BrowseDeps } from './deps';

const MAX_PASTE = 200_000;

/**
 * A header from pasted text: a JSON object, FITS cards (KEY = value / comment) or one
 * `KEY: value` / `KEY = value` per line.
 */
export function parseHeaderText(text: string): Record<string, string> {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    const obj = JSON.parse(trimmed) as unknown;
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new Error('the JSON header must be an object of keyword: value');
    return Object.fromEntries(Object.entries(obj as Record<string, unknown>).map(([k, v]) => [k.toUpperCase(), String(v)]));
  }
  const out: Record<string, string> = {};
  for (const line of trimmed.split(/\r?\n/)) {
    const m = /^\s*([A-Za-z0-9_.-]+)\s*[=:]\s*(.*?)\s*$/.exec(line);
    if (!m || m[1].toUpperCase() === 'END') continue;
    let value = m[2];
    const quoted = /^'((?:[^']|'')*)'/.exec(value);
    if (quoted) value = quoted[1].replace(/''/g, "'").trimEnd();
    else value = value.replace(/\s*\/.*$/, '');
    out[m[1].toUpperCase()] = value;
  }
  return out;
}

interface Submitted {
  fields: Record<string, string>;
  header?: Record<string, string>;
  fileName?: string;
}

/**
 * Reads a multipart form: its fields, and the union of the header keywords of every HDU of its
 * file as the real library reads a dataset's header (data passes without being kept).
 */
function readMultipart(req: Request): Promise<Submitted> {
  return new Promise((resolve, reject) => {
    const fields: Record<string, string> = {};
    let union: FitsHeaderUnion | undefined;
    let fileName: string | undefined;
    const bb = busboy({ headers: req.headers, limits: { files: 1, fields: 10, fieldSize: MAX_PASTE } });
    bb.on('field', (name, value) => (fields[name] = value));
    bb.on('file', (_name, stream, info) => {
      fileName = info.filename;
      const reading = new FitsHeaderUnion();
      let bytes = 0;
      stream.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        reading.push(chunk);
      });
      stream.on('end', () => (union = bytes ? reading : undefined));
    });
    bb.on('error', reject);
    bb.on('close', () => {
      try {
        resolve({ fields, fileName, header: union?.result() });
      } catch (err) {
        reject(err);
      }
    });
    req.pipe(bb);
  });
}

export interface BestRefRow {
  filekind: string;
  reference: string;
  rmap: string | null;
  /** the rows of the rmap that choose this reference */
  rows: RmapRow[];
}

export function bestrefsRouter(deps: BrowseDeps): Router {
  const router = Router();

  const form = async (req: Request) => {
    const [contexts, defaults] = await Promise.all([deps.catalogContexts(), defaultContexts(deps.db)]);
    return { contexts: contexts.slice().reverse(), context: defaults.latest || contexts[contexts.length - 1] || '' };
  };

  router.get('/bestrefs/', async (req, res) => {
    const f = await form(req);
    respond(req, res, 'bestrefs', { title: 'Best references', ...f, headerText: '', results: null, error: null }, { contexts: f.contexts, context: f.context });
  });

  // Mounted ahead of the site's CSRF check (which cannot read multipart bodies): checks its own.
  router.post('/bestrefs/', express.urlencoded({ extended: false, limit: '256kb' }), async (req, res) => {
    let submitted: Submitted;
    try {
      submitted = req.is('multipart/form-data') ? await readMultipart(req) : { fields: (req.body ?? {}) as Record<string, string> };
    } catch (err) {
      return badRequest(req, res, `The dataset file could not be read: ${(err as Error).message}`);
    }
    if (!csrfMatches(req, submitted.fields[CSRF_FIELD] ?? req.get('x-csrftoken'))) return res.status(403).render('error', { title: 'Forbidden', message: 'CSRF check failed: the CSRF token is missing or incorrect.' });
    const f = await form(req);
    const context = String(submitted.fields.context || f.context);
    const headerText = String(submitted.fields.header ?? '');
    const fail = (message: string) => {
      res.status(400);
      respond(req, res, 'bestrefs', { title: 'Best references', ...f, context, headerText, results: null, error: message }, { error: message });
    };
    if (!FILE_NAME_RE.test(context) || !context.endsWith('.pmap') || !f.contexts.includes(context)) return fail(`No context named '${context}' in the catalog.`);
    let header: Record<string, string>;
    try {
      header = submitted.header ?? parseHeaderText(headerText);
    } catch (err) {
      return fail(`The header could not be read: ${(err as Error).message}`);
    }
    if (!Object.keys(header).length) return fail('Paste a header (KEY = value lines, or a JSON object) or choose a dataset file.');
    let results: BestRefRow[];
    try {
      const pmap = deps.rules.context(context);
      const best = pmap.getBestReferences(header);
      const imap = pmap.getImap(pmap.getInstrument(Object.fromEntries(Object.entries(header).map(([k, v]) => [k.toUpperCase(), v]))));
      results = Object.keys(best)
        .sort()
        .map((filekind) => {
          const ref = best[filekind];
          const reference = Array.isArray(ref) ? ref.join(', ') : ref;
          const rmap = imap.selections.get(filekind) ?? null;
          let rows: RmapRow[] = [];
          if (rmap && /\.rmap$/.test(rmap)) {
            try {
              rows = rmapRows(deps.rules.store.load(rmap) as never).filter((r) => r.choice.includes(reference));
            } catch {
              rows = [];
            }
          }
          return { filekind, reference, rmap, rows: rows.slice(0, 5) };
        });
    } catch (err) {
      return fail(`Best references failed: ${(err as Error).message}`);
    }
    respond(
      req,
      res,
      'bestrefs',
      { title: 'Best references', ...f, context, headerText: headerText || Object.entries(header).map(([k, v]) => `${k} = ${v}`).join('\n'), results, error: null, fileName: submitted.fileName },
      { context, header, results },
    );
  });

  return router;
}
