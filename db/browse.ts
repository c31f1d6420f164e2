// Queries of the browsing pages: the catalog search with keyset pagination (a page continues
// after the last row seen, so page 1,000 costs what page 1 does) and counts per facet, and the
// audit trail. Facet counts scan every matching row, so they are kept per catalog generation
// and filter set: a catalog that did not change answers them from memory.
import { Op, literal, type WhereOptions } from 'sequelize';
import { catalogGeneration } from './catalog';
import type { Database } from './index';
import type { AuditRecordRow, CatalogFileRow } from './models';

export interface FileFilters {
  observatory?: string;
  instrument?: string;
  /** the reference type (filekind) */
  filekind?: string;
  /** 'mapping' or 'reference' */
  kind?: string;
  state?: string;
  /** 'bad': rejected or blacklisted; 'ok': neither */
  bad?: 'bad' | 'ok';
  /** deliverer_user */
  submitter?: string;
  deliveredFrom?: Date;
  deliveredTo?: Date;
  useafterFrom?: Date;
  useafterTo?: Date;
  /** glob (* and ?) on the name; without wildcards, a substring */
  name?: string;
  /** every word must appear in the description */
  description?: string;
}

export const SORT_COLUMNS = {
  name: 'name',
  delivery_date: 'deliveryDate',
  useafter_date: 'useafterDate',
  size: 'size',
} as const;
export type SortKey = keyof typeof SORT_COLUMNS;

export interface SearchOptions {
  sort: SortKey;
  descending: boolean;
  limit: number;
  /** the cursor of the previous page's last row (nextCursor) */
  after?: string;
}

export interface SearchPage {
  rows: CatalogFileRow[];
  /** present when more rows follow */
  nextCursor?: string;
}

export interface FacetCounts {
  total: number;
  instrument: Record<string, number>;
  filekind: Record<string, number>;
  state: Record<string, number>;
  kind: Record<string, number>;
  bad: Record<string, number>;
}

export class CursorError extends Error {}

/** LIKE pattern of a glob, with '!' escaping LIKE's own wildcards (names hold '_'). */
export function globToLike(glob: string): string {
  const escaped = glob.replace(/[!%_]/g, (c) => '!' + c);
  const like = escaped.replace(/\*/g, '%').replace(/\?/g, '_');
  return /[*?]/.test(glob) ? like : `%${like}%`;
}

function likeCondition(db: Database, column: string, pattern: string) {
  return literal(`${column} LIKE ${db.sequelize.escape(pattern)} ESCAPE '!'`);
}

export function filterWhere(db: Database, f: FileFilters): WhereOptions<CatalogFileRow> {
  const and: unknown[] = [];
  const where: Record<string | symbol, unknown> = {};
  if (f.observatory) where.observatory = f.observatory;
  if (f.instrument) where.instrument = f.instrument;
  if (f.filekind) where.filekind = f.filekind;
  if (f.kind) where.type = f.kind;
  if (f.state) where.state = f.state;
  if (f.submitter) where.delivererUser = f.submitter;
  if (f.bad === 'bad') and.push({ [Op.or]: [{ rejected: true }, { blacklisted: true }] });
  if (f.bad === 'ok') and.push({ rejected: false, blacklisted: false });
  const range = (from?: Date, to?: Date) => (from && to ? { [Op.gte]: from, [Op.lte]: to } : from ? { [Op.gte]: from } : { [Op.lte]: to });
  if (f.deliveredFrom || f.deliveredTo) where.deliveryDate = range(f.deliveredFrom, f.deliveredTo);
  if (f.useafterFrom || f.useafterTo) where.useafterDate = range(f.useafterFrom, f.useafterTo);
  if (f.name) and.push(likeCondition(db, 'name', globToLike(f.name)));
  for (const word of (f.description ?? '').split(/\s+/).filter(Boolean).slice(0, 8)) {
    and.push(likeCondition(db, 'description', globToLike(word.replace(/[*?]/g, ''))));
  }
  if (and.length) where[Op.and] = and;
  return where as WhereOptions<CatalogFileRow>;
}

function encodeCursor(value: unknown, id: number): string {
  return Buffer.from(JSON.stringify([value instanceof Date ? value.toISOString() : value, id])).toString('base64url');
}

function decodeCursor(cursor: string, sort: SortKey): [string | number | Date, number] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new CursorError('The page cursor is not one this server made.');
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || !Number.isInteger(parsed[1])) throw new CursorError('The page cursor is not one this server made.');
  const [value, id] = parsed as [unknown, number];
  if (sort === 'name' && typeof value === 'string') return [value, id];
  if (sort === 'size' && typeof value === 'number') return [value, id];
  if ((sort === 'delivery_date' || sort === 'useafter_date') && typeof value === 'string' && !Number.isNaN(Date.parse(value))) return [new Date(value), id];
  throw new CursorError('The page cursor does not fit this sort order.');
}

/** One page of files matching `filters`, in (sort column, id) order after `after`. */
export async function searchFiles(db: Database, filters: FileFilters, options: SearchOptions): Promise<SearchPage> {
  const column = SORT_COLUMNS[options.sort];
  const op = options.descending ? Op.lt : Op.gt;
  const where = filterWhere(db, filters);
  const conditions: unknown[] = [where];
  // Names are unique: the name index alone is the order (with id as a tie-breaker the
  // database would sort every matching row instead of walking the index).
  const unique = options.sort === 'name';
  if (options.after) {
    const [value, id] = decodeCursor(options.after, options.sort);
    conditions.push(unique ? { [column]: { [op]: value } } : { [Op.or]: [{ [column]: { [op]: value } }, { [column]: value, id: { [op]: id } }] });
  }
  const dir = options.descending ? 'DESC' : 'ASC';
  const rows = await db.models.CatalogFile.findAll({
    where: { [Op.and]: conditions } as WhereOptions<CatalogFileRow>,
    order: unique ? [[column, dir]] : [
      [column, dir],
      ['id', dir],
    ],
    limit: options.limit + 1,
  });
  const more = rows.length > options.limit;
  if (more) rows.length = options.limit;
  const last = rows[rows.length - 1];
  return { rows, nextCursor: more && last ? encodeCursor(last.get(column), last.id) : undefined };
}

const FACET_CACHE_SIZE = 256;
const facetCache = new WeakMap<Database, Map<string, FacetCounts>>();

/** One group of the facet scan: the rows sharing these column values, and how many. */
interface FacetGroup {
  instrument: string;
  filekind: string;
  state: string;
  type: string;
  rejected: unknown;
  blacklisted: unknown;
  n: number | string;
}

/** The grouped scan (index-only on the facets index of migration 0016) of the rows matching `filters`. */
async function facetGroups(db: Database, filters: FileFilters): Promise<FacetGroup[]> {
  return (await db.models.CatalogFile.findAll({
    attributes: ['instrument', 'filekind', 'state', 'type', 'rejected', 'blacklisted', [literal('COUNT(*)'), 'n']],
    where: filterWhere(db, filters),
    group: ['instrument', 'filekind', 'state', 'type', 'rejected', 'blacklisted'],
    raw: true,
  })) as unknown as FacetGroup[];
}

/** Filters on grouped columns only, with plain values, are answered from the whole catalog's groups. */
const GROUPED: Partial<Record<keyof FileFilters, keyof FacetGroup>> = { instrument: 'instrument', filekind: 'filekind', kind: 'type', state: 'state' };
const PLAIN = /^[a-z0-9_.-]+$/;

function fromWholeCatalog(filters: FileFilters): boolean {
  return Object.entries(filters).every(([k, v]) => (k === 'bad' ? true : GROUPED[k as keyof FileFilters] !== undefined && typeof v === 'string' && PLAIN.test(v)));
}

/**
 * Whether a group's rows match `filters` as the database compares: MariaDB's columns compare
 * case-insensitively and ignore trailing spaces (latin1_swedish_ci, PAD SPACE), SQLite's exactly.
 */
function groupMatches(db: Database, g: FacetGroup, filters: FileFilters): boolean {
  const same = db.dialect === 'sqlite' ? (a: string, b: string) => a === b : (a: string, b: string) => a.toLowerCase().replace(/ +$/, '') === b;
  for (const [k, column] of Object.entries(GROUPED) as [keyof FileFilters, keyof FacetGroup][]) {
    const v = filters[k];
    if (typeof v === 'string' && !same(String(g[column] ?? ''), v)) return false;
  }
  const bad = Number(g.rejected) !== 0 || Number(g.blacklisted) !== 0;
  return filters.bad === 'bad' ? bad : filters.bad === 'ok' ? !bad : true;
}

/** Counts per instrument, type, state, kind and bad flag of the files matching `filters`. */
export async function facetCounts(db: Database, filters: FileFilters): Promise<FacetCounts> {
  const generation = await catalogGeneration(db);
  const key = `${generation}:${JSON.stringify(filters)}`;
  let cache = facetCache.get(db);
  if (!cache) facetCache.set(db, (cache = new Map()));
  const hit = cache.get(key);
  if (hit) return hit;
  // A scan reads every matching row: one of the whole catalog per generation serves every
  // filter on the facets themselves (a million rows: about a second), others scan their own.
  const groups = fromWholeCatalog(filters) ? (await wholeCatalogGroups(db, generation)).filter((g) => groupMatches(db, g, filters)) : await facetGroups(db, filters);
  const counts: FacetCounts = { total: 0, instrument: {}, filekind: {}, state: {}, kind: {}, bad: {} };
  const add = (facet: Record<string, number>, value: string, n: number) => (facet[value] = (facet[value] ?? 0) + n);
  for (const g of groups) {
    const n = Number(g.n);
    counts.total += n;
    add(counts.instrument, g.instrument || '(none)', n);
    add(counts.filekind, g.filekind || '(none)', n);
    add(counts.state, g.state, n);
    add(counts.kind, g.type, n);
    add(counts.bad, Number(g.rejected) || Number(g.blacklisted) ? 'bad' : 'ok', n);
  }
  if (cache.size >= FACET_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(key, counts);
  return counts;
}

const wholeCatalog = new WeakMap<Database, { generation: number; groups: Promise<FacetGroup[]> }>();

/** The whole catalog's facet groups of `generation`, scanned once (concurrent callers share the scan). */
function wholeCatalogGroups(db: Database, generation: number): Promise<FacetGroup[]> {
  const kept = wholeCatalog.get(db);
  if (kept && kept.generation === generation) return kept.groups;
  const groups = facetGroups(db, {});
  wholeCatalog.set(db, { generation, groups });
  groups.catch(() => wholeCatalog.get(db)?.groups === groups && wholeCatalog.delete(db));
  return groups;
}

export interface AuditFilters {
  user?: string;
  instrument?: string;
  /** One action, or any of several. */
  action?: string | string[];
  filename?: string;
}

export interface AuditPage {
  rows: AuditRecordRow[];
  /** id to continue before (newest first) */
  nextBefore?: number;
}

/** Audit records, newest first, keyset-paginated on id. */
export async function auditRecords(db: Database, filters: AuditFilters, limit: number, before?: number): Promise<AuditPage> {
  const where: Record<string, unknown> = {};
  if (filters.user) where.username = filters.user;
  if (filters.instrument) where.instrument = filters.instrument;
  if (filters.action) where.action = filters.action;
  if (filters.filename) where.filename = filters.filename;
  if (before !== undefined) where.id = { [Op.lt]: before };
  const rows = await db.models.AuditRecord.findAll({ where, order: [['id', 'DESC']], limit: limit + 1 });
  const more = rows.length > limit;
  if (more) rows.length = limit;
  return { rows, nextBefore: more ? rows[rows.length - 1].id : undefined };
}

/** The distinct values of an audit column (for the filter menus), at most 500. */
export async function auditValues(db: Database, column: 'username' | 'action' | 'instrument'): Promise<string[]> {
  const rows = (await db.models.AuditRecord.findAll({ attributes: [column], group: [column], order: [[column, 'ASC']], limit: 500, raw: true })) as unknown as Record<string, string>[];
  return rows.map((r) => r[column]).filter(Boolean);
}
