// Queries over the catalog: file info as the original server shows it, default contexts and
// their history, the states files move through when the latest context changes, marking
// files bad, serial counters, and the catalog generation that tells readers (the web's
// in-memory snapshot) that something changed. crds-protocol.md §3.3 and §4.
import { Op, type Transaction } from 'sequelize';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isMappingName, MappingStore } from '../crds';
import { mappingDifferences } from '../crds/diff';
import type { Database } from './index';
import type { CatalogFileRow, ContextHistoryRow } from './models';

/** Default-context states. `operational` is the pre-13.x name of `latest`. */
export const CONTEXT_STATES = ['latest', 'edit', 'versions'] as const;
export type ContextState = (typeof CONTEXT_STATES)[number];

export function canonicalContextState(state: string): ContextState | undefined {
  const s = state.toLowerCase() === 'operational' ? 'latest' : state.toLowerCase();
  return (CONTEXT_STATES as readonly string[]).includes(s) ? (s as ContextState) : undefined;
}

/**
 * States in which the server distributes a file (CRDS_DISTRIBUTION_STATES). This server has
 * no archive of its own yet, so `delivered` counts, as on the original's dev servers (§4.3).
 */
export const DISTRIBUTION_STATES: ReadonlySet<string> = new Set(['delivered', 'submitted', 'archiving', 'archived', 'latest', 'operational']);

/** Defaults of the original FileBlob for dates nobody set. */
export const NEVER_ACTIVATED = new Date(Date.UTC(2050, 0, 1));
export const NO_USEAFTER = new Date(Date.UTC(1900, 0, 1));

/** Python's str(datetime) of a naive UTC date: 'YYYY-MM-DD HH:MM:SS[.ffffff]'. */
export function pyDate(d: Date): string {
  const iso = d.toISOString(); // 2019-09-09T16:09:51.123Z
  const base = iso.slice(0, 10) + ' ' + iso.slice(11, 19);
  const ms = d.getUTCMilliseconds();
  return ms ? `${base}.${String(ms).padStart(3, '0')}000` : base;
}

/** Fields of get_file_info in the original's order; every value str(v).lower()'d (§3.3). */
export const FILE_INFO_FIELDS = [
  'name',
  'state',
  'blacklisted',
  'rejected',
  'observatory',
  'instrument',
  'filekind',
  'type',
  'derived_from',
  'sha1sum',
  'delivery_date',
  'activation_date',
  'useafter_date',
  'change_level',
  'pedigree',
  'reference_file_type',
  'size',
  'uploaded_as',
  'creator_name',
  'deliverer_user',
  'description',
  'replaced_by_filename',
  'comment',
  'aperture',
  'history',
] as const;

export function fileInfo(row: CatalogFileRow): Record<string, string> {
  const py = (v: unknown): string => {
    if (v === null || v === undefined) return 'none';
    if (v instanceof Date) return pyDate(v);
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    return String(v).toLowerCase();
  };
  const values: Record<string, unknown> = {
    name: row.name,
    state: row.state,
    blacklisted: row.blacklisted,
    rejected: row.rejected,
    observatory: row.observatory,
    instrument: row.instrument,
    filekind: row.filekind,
    type: row.type,
    derived_from: row.derivedFrom,
    sha1sum: row.sha1sum,
    delivery_date: row.deliveryDate,
    activation_date: row.activationDate,
    useafter_date: row.useafterDate,
    change_level: row.changeLevel,
    pedigree: row.pedigree,
    reference_file_type: row.referenceFileType,
    size: row.size,
    uploaded_as: row.uploadedAs,
    creator_name: row.creatorName,
    deliverer_user: row.delivererUser,
    description: row.description,
    replaced_by_filename: row.replacedByFilename,
    comment: row.comment,
    aperture: row.aperture,
    history: row.history,
  };
  const out: Record<string, string> = {};
  for (const f of FILE_INFO_FIELDS) out[f] = py(values[f]);
  // The name is the file's identity: never case-folded (CRDS names are lower case anyway).
  out.name = row.name;
  return out;
}

const GENERATION = 'catalog_generation';

/** Marks the catalog changed, inside the writer's transaction. */
export async function bumpGeneration(db: Database, transaction?: Transaction): Promise<void> {
  await nextCounter(db, GENERATION, transaction);
}

/**
 * After the whole database was replaced (a restore): the generation moves past both the one
 * before (pages the webs cached under it) and the restored one, so no cached page is reused.
 */
export async function bumpGenerationPast(db: Database, before: number): Promise<void> {
  const restored = await catalogGeneration(db);
  await db.models.NameCounter.upsert({ name: GENERATION, counter: Math.max(before, restored) + 1 });
}

/** A number that changes whenever a writer changed files, contexts or bad flags. */
export async function catalogGeneration(db: Database): Promise<number> {
  const row = await db.models.NameCounter.findByPk(GENERATION);
  return row ? row.counter : 0;
}

/**
 * Increments and returns the named counter (1 on first use), atomically: the row is
 * locked for the transaction, so two submitters never draw the same serial (§4.8).
 */
export async function nextCounter(db: Database, name: string, transaction?: Transaction): Promise<number> {
  const run = async (t: Transaction) => {
    const { NameCounter } = db.models;
    const row = await NameCounter.findByPk(name, { transaction: t, lock: t.LOCK.UPDATE });
    if (!row) {
      await NameCounter.create({ name, counter: 1 }, { transaction: t });
      return 1;
    }
    await row.update({ counter: row.counter + 1 }, { transaction: t });
    return row.counter;
  };
  return transaction ? run(transaction) : db.sequelize.transaction(run);
}

export interface DefaultContexts {
  latest: string;
  edit: string;
  versions: string;
}

export async function defaultContexts(db: Database): Promise<DefaultContexts> {
  const rows = await db.models.DefaultContext.findAll();
  const out: DefaultContexts = { latest: '', edit: '', versions: '' };
  for (const r of rows) if (r.state in out) out[r.state as ContextState] = r.context;
  return out;
}

/** History rows of a state, newest first. */
export async function contextHistory(db: Database, state: ContextState = 'latest'): Promise<ContextHistoryRow[]> {
  return db.models.ContextHistory.findAll({ where: { state }, order: [['startDate', 'DESC'], ['id', 'DESC']] });
}

/** Every file of a context's closure: its mappings and the references they name. */
export function contextClosure(mappingsDir: string, context: string): Set<string> {
  const pmap = new MappingStore(mappingsDir).loadContext(context);
  return new Set([...pmap.mappingNames(), ...pmap.referenceNames()]);
}

export interface SetContextRequest {
  state: ContextState;
  context: string;
  username: string;
  description: string;
  /** The server's mappings folder (mappings/<obs>): needed to find the files of a new latest context. */
  mappingsDir: string;
  date?: Date;
  /** Run inside this transaction (a delivery that advances the edit context atomically with its files). */
  transaction?: Transaction;
}

/**
 * References the rules replaced going from context `oldContext` to `newContext`: old name →
 * new name, from the logical differences of the two contexts (crds/diff.ts), each
 * `replaced 'old.fits' with 'new.fits'` of a rule; mappings and N/A-like values are not
 * files and are left out. The first replacement of a name wins.
 */
export function replacedReferences(mappingsDir: string, oldContext: string, newContext: string): Map<string, string> {
  const load = (name: string) => fs.readFileSync(path.join(mappingsDir, path.basename(name)), 'utf8');
  const out = new Map<string, string>();
  const isFile = (n: string) => !isMappingName(n) && /^[A-Za-z0-9_.-]+\.[A-Za-z0-9]+$/.test(n);
  for (const d of mappingDifferences(oldContext, newContext, load)) {
    const m = /^replaced '([^']+)' with '([^']+)'$/.exec(String(d.tuple[d.tuple.length - 1]));
    if (m && isFile(m[1]) && isFile(m[2]) && m[1] !== m[2] && !out.has(m[1])) out.set(m[1], m[2]);
  }
  return out;
}

/**
 * Makes `context` the default of `state` (the original's set_default_context): records a
 * history entry when it changed and, for the latest context, activates and marks its files
 * `latest`, returning files that left it to `archived`, and records on each reference the
 * rules replaced (previous latest → new one) its `replaced_by_filename`. Idempotent: setting the current
 * context again changes nothing. Returns whether anything changed.
 */
export async function setDefaultContext(db: Database, req: SetContextRequest): Promise<boolean> {
  const { DefaultContext, ContextHistory, CatalogFile, AuditRecord } = db.models;
  const date = req.date ?? new Date();
  const closure = req.state === 'latest' ? [...contextClosure(req.mappingsDir, req.context)] : [];
  // The replacements are computed from the mapping files before the transaction (CPU work,
  // no locks held) against the latest context as read now; inside, they apply only if the
  // latest context is still that one.
  const before = req.state === 'latest' ? (await DefaultContext.findByPk('latest'))?.context : undefined;
  const replaced = before && before !== req.context ? replacedReferences(req.mappingsDir, before, req.context) : new Map<string, string>();
  const inside = async (transaction: Transaction): Promise<boolean> => {
    const file = await CatalogFile.findOne({ where: { name: req.context }, transaction });
    if (!file || file.type !== 'mapping' || !req.context.endsWith('.pmap')) {
      throw new Error(`Context '${req.context}' is not a catalogued .pmap`);
    }
    const current = await DefaultContext.findByPk(req.state, { transaction, lock: transaction.LOCK.UPDATE });
    const last = await ContextHistory.findOne({ where: { state: req.state }, order: [['startDate', 'DESC'], ['id', 'DESC']], transaction });
    if (current?.context === req.context && last?.context === req.context) return false;
    const previous = current?.context ?? '';
    if (current) await current.update({ context: req.context }, { transaction });
    else await DefaultContext.create({ state: req.state, context: req.context }, { transaction });
    if (last?.context !== req.context) {
      await ContextHistory.create(
        { startDate: date, context: req.context, state: req.state, description: req.description, username: req.username },
        { transaction },
      );
    }
    if (req.state === 'latest') {
      await CatalogFile.update(
        { activationDate: date },
        { where: { name: closure, activationDate: { [Op.gte]: NEVER_ACTIVATED } }, transaction },
      );
      await CatalogFile.update({ state: 'archived' }, { where: { state: ['latest', 'operational'], name: { [Op.notIn]: closure } }, transaction });
      await CatalogFile.update({ state: 'latest' }, { where: { name: closure, state: [...DISTRIBUTION_STATES] }, transaction });
      if (previous === before) {
        for (const [oldName, newName] of replaced) {
          await CatalogFile.update({ replacedByFilename: newName }, { where: { name: oldName, type: 'reference' }, transaction });
        }
      }
    }
    await AuditRecord.create(
      {
        date,
        username: req.username,
        action: 'set default context',
        filename: req.context,
        observatory: file.observatory,
        why: req.description,
        details: { text: `${req.state} context changed from '${previous}' to '${req.context}'` },
      },
      { transaction },
    );
    await bumpGeneration(db, transaction);
    return true;
  };
  return req.transaction ? inside(req.transaction) : db.sequelize.transaction(inside);
}

/** Direct parent mappings of each mapping: who names it (pmaps name imaps, imaps name rmaps). */
export async function mappingParents(db: Database, mappingsDir: string): Promise<Map<string, string[]>> {
  const store = new MappingStore(mappingsDir, { ignoreChecksum: true });
  const parents = new Map<string, string[]>();
  const contexts = await db.models.CatalogFile.findAll({
    attributes: ['name'],
    where: { type: 'mapping', name: { [Op.or]: [{ [Op.like]: '%.pmap' }, { [Op.like]: '%.imap' }] } },
  });
  for (const { name } of contexts) {
    let m;
    try {
      m = store.load(name);
    } catch {
      continue; // an unreadable mapping names nothing we could blacklist through it
    }
    if (m.kind === 'rmap') continue;
    for (const child of m.selections.values()) {
      const list = parents.get(child);
      if (list) list.push(name);
      else parents.set(child, [name]);
    }
  }
  return parents;
}

export interface MarkBadRequest {
  names: string[];
  bad: boolean;
  reason: string;
  username: string;
  mappingsDir: string;
  date?: Date;
}

export class CatalogError extends Error {}

/**
 * Rejects (or clears) files (the original's Mark Files Bad, §4.4): a rejected mapping also
 * blacklists every mapping that names it, up to the contexts; clearing removes blacklisting
 * only where no rejected mapping remains below. A file in the latest context cannot be
 * marked bad. All or nothing: one unknown name changes nothing.
 */
export async function markFilesBad(db: Database, req: MarkBadRequest): Promise<{ rejected: string[]; blacklisted: string[] }> {
  const { CatalogFile, AuditRecord } = db.models;
  const date = req.date ?? new Date();
  const parents = await mappingParents(db, req.mappingsDir);
  const { latest } = await defaultContexts(db);
  const inLatest = req.bad && latest ? contextClosure(req.mappingsDir, latest) : new Set<string>();
  return db.sequelize.transaction(async (transaction) => {
    const rows = await CatalogFile.findAll({ where: { name: req.names }, transaction, lock: transaction.LOCK.UPDATE });
    const missing = req.names.filter((n) => !rows.some((r) => r.name === n));
    if (missing.length) throw new CatalogError(`File ${missing.map((n) => `'${n}'`).join(', ')} is not known to CRDS.`);
    for (const row of rows) {
      if (inLatest.has(row.name)) {
        throw new CatalogError(
          `File '${row.name}' is in the latest context '${latest}'. Create a new context which does not contain it and make that context latest. Then mark it bad.`,
        );
      }
    }
    for (const row of rows) {
      await row.update(
        req.bad
          ? { rejected: true, badReason: req.reason, markedBadBy: req.username, markedBadDate: date }
          : { rejected: false, badReason: null, markedBadBy: '', markedBadDate: null },
        { transaction },
      );
    }
    // Blacklisting is recomputed from every rejected mapping, so marking ok is exact.
    const rejectedMappings = (await CatalogFile.findAll({ attributes: ['name'], where: { type: 'mapping', rejected: true }, transaction })).map((r) => r.name);
    const blacklisted = new Set<string>();
    const stack = [...rejectedMappings];
    while (stack.length) for (const p of parents.get(stack.pop()!) ?? []) if (!blacklisted.has(p)) blacklisted.add(p) && stack.push(p);
    // (An empty NOT IN list would match nothing in Sequelize's SQL: leave the name filter out.)
    const stillBad = blacklisted.size ? { name: { [Op.notIn]: [...blacklisted] } } : {};
    await CatalogFile.update({ blacklisted: false }, { where: { blacklisted: true, ...stillBad }, transaction });
    if (blacklisted.size) await CatalogFile.update({ blacklisted: true }, { where: { name: [...blacklisted] }, transaction });
    for (const row of rows) {
      await AuditRecord.create(
        {
          date,
          username: req.username,
          action: 'blacklist',
          filename: row.name,
          observatory: row.observatory,
          instrument: row.instrument,
          filekind: row.filekind,
          why: req.reason,
          details: { text: `marked as '${req.bad ? 'BAD' : 'OK'}'` },
        },
        { transaction },
      );
    }
    await bumpGeneration(db, transaction);
    return { rejected: req.bad ? rows.map((r) => r.name).sort() : [], blacklisted: [...blacklisted].sort() };
  });
}
