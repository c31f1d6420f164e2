// The catalog pages: search (/browse_db/), one file (/browse/<name>) and the contexts using
// a file (/uses/<name>).
import { Router, type Application, type Request } from 'express';
import { differenceToJson } from '../../crds/diff';
import { auditRecords, CursorError, facetCounts, searchFiles, SORT_COLUMNS, type FacetCounts, type FileFilters, type SortKey } from '../../db/browse';
import { fileInfo } from '../../db/catalog';
import { FILE_NAME_RE } from '../../db/catalog-import';
import type { AuditRecordRow, CatalogFileRow } from '../../db/models';
import { GenerationCache } from './page-cache';
import { badRequest, notFound, param, respond, wantsJson } from './respond';
import { rmapRows, type RmapRow } from './rules-index';
import type { BrowseDeps, UsesReport } from './deps';

export const MAX_PAGE_SIZE = 500;
export const DEFAULT_PAGE_SIZE = 50;

/** A page size from the query: default when absent, clamped to MAX_PAGE_SIZE, refused when not a positive integer. */
export function pageSize(req: Request, fallback = DEFAULT_PAGE_SIZE): number {
  const raw = param(req, 'limit');
  if (!raw) return fallback;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1) throw new RangeError(`limit must be a positive whole number, not '${raw.slice(0, 40)}'`);
  return Math.min(Number(raw), MAX_PAGE_SIZE);
}

/** A date filter: YYYY-MM-DD (the day's start, or end for an upper bound) or an ISO time. */
function dateParam(req: Request, name: string, endOfDay: boolean): Date | undefined {
  const raw = param(req, name);
  if (!raw) return undefined;
  const day = /^\d{4}-\d{2}-\d{2}$/.test(raw);
  const d = new Date(day ? `${raw}T${endOfDay ? '23:59:59.999' : '00:00:00'}Z` : raw);
  if (raw.length > 40 || Number.isNaN(d.getTime())) throw new RangeError(`${name} is not a date (YYYY-MM-DD): '${raw.slice(0, 40)}'`);
  return d;
}

const TEXT_FILTERS = ['observatory', 'instrument', 'filekind', 'kind', 'state', 'submitter', 'name', 'description'] as const;

export function parseFilters(req: Request): FileFilters {
  const f: FileFilters = {};
  for (const k of TEXT_FILTERS) {
    const v = param(req, k);
    if (v.length > 200) throw new RangeError(`${k} is longer than 200 characters`);
    if (v) (f as Record<string, string>)[k] = k === 'name' || k === 'description' || k === 'submitter' ? v : v.toLowerCase();
  }
  const bad = param(req, 'bad');
  if (bad && bad !== 'bad' && bad !== 'ok') throw new RangeError(`bad must be 'bad' or 'ok'`);
  if (bad === 'bad' || bad === 'ok') f.bad = bad;
  f.deliveredFrom = dateParam(req, 'delivered_from', false);
  f.deliveredTo = dateParam(req, 'delivered_to', true);
  f.useafterFrom = dateParam(req, 'useafter_from', false);
  f.useafterTo = dateParam(req, 'useafter_to', true);
  for (const k of Object.keys(f) as (keyof FileFilters)[]) if (f[k] === undefined) delete f[k];
  return f;
}

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

/** A search row as the page and its JSON show it. */
export function fileSummary(row: CatalogFileRow) {
  return {
    name: row.name,
    kind: row.type,
    instrument: row.instrument,
    filekind: row.filekind,
    state: row.state,
    bad: row.rejected || row.blacklisted,
    submitter: row.delivererUser,
    delivery_date: iso(row.deliveryDate),
    useafter_date: iso(row.useafterDate),
    size: row.size,
    description: row.description ?? '',
  };
}

export function auditSummary(r: AuditRecordRow) {
  return { id: r.id, date: iso(r.date), user: r.username, action: r.action, filename: r.filename, instrument: r.instrument, filekind: r.filekind, why: r.why };
}

/** Names of mappings and references in a mapping's text. */
const NAME_IN_TEXT = /[A-Za-z0-9][A-Za-z0-9_-]*\.(?:pmap|imap|rmap|fits|asdf|json|yaml|r\d[hd]|txt)\b/g;

/** The text split into plain parts and names (linked when `known` has them), for the view to escape. */
export function linkNames(text: string, known: ReadonlySet<string>): { text: string; link?: string }[] {
  const parts: { text: string; link?: string }[] = [];
  let last = 0;
  for (const m of text.matchAll(NAME_IN_TEXT)) {
    if (!known.has(m[0])) continue;
    if (m.index > last) parts.push({ text: text.slice(last, m.index) });
    parts.push({ text: m[0], link: m[0] });
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return parts;
}

/** A file page's parts derived from the rules and other rows (kept per catalog generation). */
interface FileDerived {
  uses: UsesReport;
  chain: string[];
  derived: string[];
  audit: ReturnType<typeof auditSummary>[];
  header?: Record<string, string>;
  rows?: { rmap: string; rows: RmapRow[] }[];
  rmap: RmapRow[] | null;
  diff?: Record<string, unknown>[];
  text?: { text: string; link?: string }[];
  diffError?: string;
  /** the rmap's rows and the mapping's text as HTML (views/partials/rmap-rows, mapping-text) */
  rmapHtml: string | null;
  textHtml?: string;
  /** approximate bytes held */
  weight: number;
}

/** A view (a partial) rendered to a string, as the page's own include would render it. */
function renderView(app: Application, view: string, locals: Record<string, unknown>): Promise<string> {
  return new Promise((resolve, reject) => app.render(view, locals, (err, html) => (err ? reject(err) : resolve(html))));
}

export function catalogPagesRouter(deps: BrowseDeps): Router {
  const router = Router();
  const { db, config } = deps;
  const mappingText = (name: string) => deps.mappingText(name);
  // Answers per catalog generation (page-cache.ts): a search's page of rows and its facet
  // counts by filters, sort and cursor; a file page's derived parts by name.
  const searches = new GenerationCache<{ files: ReturnType<typeof fileSummary>[]; nextCursor?: string; facets: FacetCounts }>(db, 2000);
  const filePages = new GenerationCache<FileDerived>(db, 64 * 1024 * 1024, (p) => p.weight);

  router.get('/browse_db/', async (req, res) => {
    let filters: FileFilters;
    let limit: number;
    const sort = (param(req, 'sort') || 'delivery_date') as SortKey;
    const order = param(req, 'order') || (sort === 'name' ? 'asc' : 'desc');
    try {
      filters = parseFilters(req);
      limit = pageSize(req);
      if (!(sort in SORT_COLUMNS)) throw new RangeError(`sort must be one of ${Object.keys(SORT_COLUMNS).join(', ')}`);
      if (order !== 'asc' && order !== 'desc') throw new RangeError(`order must be asc or desc`);
    } catch (err) {
      return badRequest(req, res, (err as Error).message);
    }
    // The search box: an exact file name opens the file.
    if (filters.name && Object.keys(filters).length === 1 && !wantsJson(req) && FILE_NAME_RE.test(filters.name)) {
      const exact = await db.models.CatalogFile.findOne({ where: { name: filters.name }, attributes: ['name'] });
      if (exact) return res.redirect(302, `/browse/${encodeURIComponent(exact.name)}`);
    }
    const after = param(req, 'after') || undefined;
    let page;
    try {
      page = await searches.get(JSON.stringify([filters, sort, order, limit, after]), async () => {
        const found = await searchFiles(db, filters, { sort, descending: order === 'desc', limit, after });
        return { files: found.rows.map(fileSummary), nextCursor: found.nextCursor, facets: await facetCounts(db, filters) };
      });
    } catch (err) {
      if (err instanceof CursorError) return badRequest(req, res, err.message);
      throw err;
    }
    const { facets, files } = page;
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(req.query)) if (k !== 'after' && k !== 'format' && typeof v === 'string' && v) query.set(k, v);
    const next = page.nextCursor ? `/browse_db/?${new URLSearchParams([...query, ['after', page.nextCursor]]).toString()}` : null;
    const sortLink = (key: string) => {
      const q = new URLSearchParams(query);
      q.delete('after');
      q.set('sort', key);
      q.set('order', sort === key && order === 'asc' ? 'desc' : 'asc');
      return `/browse_db/?${q.toString()}`;
    };
    const facetLink = (facet: string, value: string) => {
      const q = new URLSearchParams(query);
      q.delete('after');
      q.set(facet, value);
      return `/browse_db/?${q.toString()}`;
    };
    const values = Object.fromEntries(Object.entries(req.query).filter(([, v]) => typeof v === 'string'));
    respond(
      req,
      res,
      'browse-db',
      { title: 'Search the catalog', files, facets, next, sort, order, limit, values, sortLink, facetLink, findName: filters.name ?? '' },
      { filters: values, sort, order, limit, total: facets.total, facets, files, next },
    );
  });

  const uses = (name: string) => deps.uses(name);

  router.get('/uses/:name', async (req, res) => {
    const { name } = req.params as Record<string, string>;
    if (!FILE_NAME_RE.test(name)) return notFound(req, res, `No file named '${name}' in the catalog.`);
    const [row, used] = await Promise.all([db.models.CatalogFile.findOne({ where: { name }, attributes: ['name'] }), uses(name)]);
    if (!row && !used.contexts.length) return notFound(req, res, `No file named '${name}' in the catalog, and no context uses it.`);
    respond(req, res, 'uses', { title: `Contexts using ${name}`, ...used }, used);
  });

  router.get('/browse/:name', async (req, res) => {
    const { name } = req.params as Record<string, string>;
    // The row is read for every request (one lookup of a unique name) and its fields shown as
    // they are; what the page derives from the rules and other rows is kept per generation.
    const row = FILE_NAME_RE.test(name) ? await db.models.CatalogFile.findOne({ where: { name } }) : null;
    if (!row) return notFound(req, res, `No file named '${name}' in the catalog.`);
    const isMapping = row.type === 'mapping';
    const d = await filePages.get(JSON.stringify([name, row.type, row.derivedFrom]), () => derivedParts(row, req.app));
    const fields: Record<string, string> = {
      ...fileInfo(row),
      bad_reason: row.badReason ?? '',
      marked_bad_by: row.markedBadBy,
      marked_bad_date: iso(row.markedBadDate) ?? '',
      catalog_link: row.catalogLink,
    };
    const download = `/unchecked_get/${isMapping ? 'mappings' : 'references'}/${config.observatory}/${encodeURIComponent(name)}`;
    const data = {
      name,
      fields,
      uses: d.uses,
      derived_from_chain: d.chain,
      derived: d.derived,
      audit: d.audit,
      header: d.header ?? null,
      rmap_rows: d.rows ?? null,
      rmap: d.rmap,
      diff_vs_parent: d.diff ?? null,
      download,
    };
    respond(req, res, 'browse-file', { title: name, ...data, text: d.text, textHtml: d.textHtml, rmapHtml: d.rmapHtml, diffError: d.diffError, isMapping }, data);
  });

  /** What a file page shows besides the row's own fields, for the cache. */
  const derivedParts = async (row: CatalogFileRow, app: Application): Promise<FileDerived> => {
    const { name } = row;
    const isMapping = row.type === 'mapping';
    const [used, audit, children] = await Promise.all([
      uses(name),
      auditRecords(db, { filename: name }, 200),
      db.models.CatalogFile.findAll({ where: { derivedFrom: name }, attributes: ['name'], order: [['name', 'ASC']], limit: 50, raw: true }),
    ]);
    // derived_from chain, nearest first, bounded (a loop in bad data cannot hang the page).
    const chain: string[] = [];
    for (let parent = row.derivedFrom; parent && chain.length < 25 && !chain.includes(parent); ) {
      chain.push(parent);
      const p = await db.models.CatalogFile.findOne({ where: { name: parent }, attributes: ['derivedFrom'] });
      parent = p?.derivedFrom ?? '';
    }
    let header: Record<string, string> | undefined;
    let rows: { rmap: string; rows: RmapRow[] }[] | undefined;
    let text: { text: string; link?: string }[] | undefined;
    let diff: Record<string, unknown>[] | undefined;
    let diffError: string | undefined;
    if (!isMapping) {
      header = deps.referenceHeader(name);
      rows = [];
      for (const rmap of deps.index.rmapsSelecting(name).slice(-5)) {
        try {
          rows.push({ rmap, rows: rmapRows(deps.rules.store.load(rmap) as never).filter((r) => r.choice.includes(name)) });
        } catch {
          // an rmap that does not load shows no rows
        }
      }
    } else {
      const raw = mappingText(name);
      if (raw !== undefined) {
        const names = [...new Set([...raw.matchAll(NAME_IN_TEXT)].map((m) => m[0]))];
        const known = new Set<string>();
        for (let i = 0; i < names.length; i += 1000) {
          const found = await db.models.CatalogFile.findAll({ where: { name: names.slice(i, i + 1000) }, attributes: ['name'], raw: true });
          for (const f of found) if (f.name !== name) known.add(f.name);
        }
        text = linkNames(raw, known);
      }
      if (row.derivedFrom && mappingText(row.derivedFrom) !== undefined) {
        try {
          diff = deps.differences(row.derivedFrom, name).map(differenceToJson);
        } catch (err) {
          diffError = (err as Error).message;
        }
      }
    }
    const rmap = isMapping && name.endsWith('.rmap') ? rmapRowsOf(name) : null;
    // A big rmap's rows and text are a megabyte of HTML: rendered here, once per generation.
    const [rmapHtml, textHtml] = await Promise.all([rmap && renderView(app, 'partials/rmap-rows', { rows: rmap }), text && renderView(app, 'partials/mapping-text', { text })]);
    const parts = { uses: used, chain, derived: children.map((c) => c.name), audit: audit.rows.map(auditSummary), header, rows, rmap, diff, text, diffError };
    // Weighed by its HTML and rows, roughly their bytes in memory (each row a few hundred).
    const rowCount = (rmap?.length ?? 0) + (rows ?? []).reduce((n, r) => n + r.rows.length, 0);
    return { ...parts, rmapHtml, textHtml, weight: 2 * ((rmapHtml?.length ?? 0) + (textHtml?.length ?? 0)) + 300 * rowCount + 200 * audit.rows.length + 4096 };
  };

  const rmapRowsOf = (name: string): RmapRow[] | null => {
    try {
      return rmapRows(deps.rules.store.load(name) as never);
    } catch {
      return null;
    }
  };

  return router;
}
