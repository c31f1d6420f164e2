// Setting a default context (crds-protocol.md §4.5), as `ops/manage set-context` and the
// /set_default_context/ page do it: refusals first (not a catalogued .pmap, bad, its closure
// incomplete in the file cache, already the current one), then db/catalog setDefaultContext,
// which records the history entry, activation dates, file states and the audit record.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { QueryTypes } from 'sequelize';
import { MappingStore } from '../crds';
import type { Config } from '../config';
import { CatalogError, canonicalContextState, defaultContexts, setDefaultContext, type ContextState } from './catalog';
import type { Database } from './index';

export const CONTEXT_KINDS = ['operational', 'edit', 'versions'] as const;
export type ContextKind = (typeof CONTEXT_KINDS)[number];

export interface SetContextInput {
  context: string;
  kind: string;
  why: string;
  username: string;
}

export interface SetContextOutcome {
  state: ContextState;
  previous: string;
  context: string;
}

/** The state a kind names (operational is the catalog's `latest`), or a refusal. */
export function contextState(kind: string): ContextState {
  const state = CONTEXT_KINDS.includes(kind as ContextKind) ? canonicalContextState(kind) : undefined;
  if (!state) throw new CatalogError(`Unknown context kind '${kind}': operational, edit or versions`);
  return state;
}

/**
 * Why `context` may not become a default context, or undefined when it may: it must be a
 * catalogued .pmap of this observatory, neither rejected nor blacklisted, and its closure must
 * be in the file cache (clients would otherwise fail to sync it): every mapping, and every
 * reference the catalog knows.
 */
export async function contextRefusal(db: Database, config: Config, context: string): Promise<string | undefined> {
  if (!/^[a-z0-9]+_\d+\.pmap$/.test(context)) return `'${context}' is not a pipeline context name (<observatory>_<serial>.pmap)`;
  if (!context.startsWith(`${config.observatory}_`)) return `Context '${context}' is not a ${config.observatory} context`;
  const row = await db.models.CatalogFile.findOne({ where: { name: context } });
  if (!row || row.type !== 'mapping') return `Context '${context}' is not catalogued`;
  if (row.rejected || row.blacklisted) return `Context '${context}' is bad (${row.rejected ? 'rejected' : 'blacklisted'}${row.badReason ? `: ${row.badReason}` : ''})`;
  const mappings = path.join(config.fileCache, 'mappings', config.observatory);
  const references = path.join(config.fileCache, 'references', config.observatory);
  let names: { mappings: string[]; references: string[] };
  try {
    const pmap = new MappingStore(mappings, { ignoreChecksum: true }).loadContext(context);
    names = { mappings: pmap.mappingNames(), references: pmap.referenceNames() };
  } catch (err) {
    return `Context '${context}' is incomplete in the file cache: ${(err as Error).message}`;
  }
  // Every mapping must be there. References: every catalogued one (a site that mirrors the
  // rules without all the reference files, like ../shared/data, catalogues only those it has).
  const catalogued = new Set(
    (await db.models.CatalogFile.findAll({ attributes: ['name'], where: { name: names.references, type: 'reference' } })).map((r) => r.name),
  );
  const missing = [
    ...names.mappings.filter((n) => !fs.existsSync(path.join(mappings, n))),
    ...names.references.filter((n) => catalogued.has(n) && !fs.existsSync(path.join(references, n))),
  ];
  if (missing.length) {
    return `Context '${context}' is incomplete in the file cache: ${missing.length} file(s) missing (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''})`;
  }
  const bad = await db.models.CatalogFile.findAll({ attributes: ['name'], where: { name: [...names.mappings, ...names.references], rejected: true } });
  if (bad.length) return `Context '${context}' contains rejected files: ${bad.map((b) => b.name).slice(0, 5).join(', ')}`;
  return undefined;
}

/**
 * One setter at a time across processes (a double click, two operators): on MySQL a named
 * lock held on a connection of its own; SQLite has one writer already, and this process's
 * queue covers its checks.
 */
let queue: Promise<unknown> = Promise.resolve();
async function oneAtATime<T>(db: Database, fn: () => Promise<T>): Promise<T> {
  const run = async () => {
    if (db.dialect !== 'mysql') return fn();
    return db.sequelize.transaction(async (transaction) => {
      const [row] = await db.sequelize.query<{ got: number }>("SELECT GET_LOCK('crds_set_context', 30) AS got", { type: QueryTypes.SELECT, transaction });
      if (!row || Number(row.got) !== 1) throw new CatalogError('Another context change is in progress; try again');
      try {
        return await fn();
      } finally {
        await db.sequelize.query("SELECT RELEASE_LOCK('crds_set_context')", { transaction });
      }
    });
  };
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}

/** Checks and sets; throws CatalogError with the refusal, changing nothing. */
export async function setContext(db: Database, config: Config, input: SetContextInput): Promise<SetContextOutcome> {
  const state = contextState(input.kind);
  if (!input.why.trim()) throw new CatalogError('Give a reason (--why / description) for the change');
  return oneAtATime(db, async () => {
    const refusal = await contextRefusal(db, config, input.context);
    if (refusal) throw new CatalogError(refusal);
    const previous = (await defaultContexts(db))[state];
    if (previous === input.context) throw new CatalogError(`'${input.context}' is already the ${input.kind} context`);
    const changed = await setDefaultContext(db, {
      state,
      context: input.context,
      username: input.username,
      description: input.why.trim(),
      mappingsDir: path.join(config.fileCache, 'mappings', config.observatory),
    });
    if (!changed) throw new CatalogError(`'${input.context}' is already the ${input.kind} context`);
    return { state, previous, context: input.context };
  });
}
