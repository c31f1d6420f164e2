// Confirm (crds-protocol.md §5.5): the decision checked against the catalog, then, under the
// site-wide context-generation lock (db/context-lock.ts), the base context resolved now (edit,
// operational or the named pmap), new imaps and a new pmap made from it with fresh names and
// certified, everything delivered and the edit context advanced in the transaction that
// delivers. Two teams confirming at once thus each build on the other's delivered rules; a
// submission whose rmap's parent is no longer the base context's rmap of that type (the same
// type delivered meanwhile) is refused, nothing delivered.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { certifyFile } from '../../crds/certify';
import { MappingStore, mappingSeries } from '../../crds';
import { newContext } from '../../crds/refactor';
import { bumpGeneration, setDefaultContext } from '../../db/catalog';
import { contextLockHolder, releaseContextLock, stillHoldsContextLock, takeContextLock } from '../../db/context-lock';
import { findLock, lockId } from '../../db/locks';
import { assignSerialName, submissionRecords } from '../../db/submissions';
import { decisionRefusal } from '../../workflows/decision-rules';
import type { GeneratedMapping, PmapMode } from '../../workflows/submission-types';
import { cancellationSignal, heartbeat, submissionPaths, userError, writeAtomically, type SubmissionActivityDeps } from './common';
import { deliveryOf, prepareAndCommitDelivery, publishDelivery, type DeliverResult } from './delivery';
import { resolveContext } from './ingest';
import { catalogMappings, describeDifferences, removeUploaded } from './rules';

/** What the decision and the confirm need to know of a READY submission. */
export interface ReadySubmission {
  submissionId: string;
  observatory: string;
  /** The submitter, the instrument they logged in for and that lock's id at submit. */
  username: string;
  instrument: string;
  lockId: string;
  pmapMode: PmapMode;
  pmapName?: string;
  /** The rmaps made at submit, each with the rmap of the derivation context it replaces. */
  rmaps: { name: string; derivedFrom: string }[];
}

export interface ConfirmInput extends ReadySubmission {
  description: string;
  changeLevel: string;
  creator: string;
  /** The references' CRDS names, and the names they were uploaded under. */
  references: string[];
  uploadedAs: string[];
  /** Whether the rmaps are delivered with the contexts (default); create_contexts installs rmaps delivered before. */
  deliverRmaps?: boolean;
  /** Whether an rmap whose parent is no longer the base's is refused (default); create_contexts installs any rmap. */
  checkStale?: boolean;
  /** The audit records' action (DeliverInput.action). */
  action?: string;
}

export interface ConfirmResult extends DeliverResult {
  /** The context the new imaps and pmap were made from. */
  base: string;
  newContext: string;
  /** The new imaps and pmap, with their differences. */
  generated: GeneratedMapping[];
  actions: string[];
}

/** Slot prefix of the context names drawn at confirm, per base context: a changed base draws new names. */
const contextSlot = (base: string, old: string) => `ctx:${base}:${old}`;

/** (instrument, filekind) of an rmap name: `hst_cos_xtractab_0250.rmap` → cos, xtractab. */
function rmapKind(rmap: string): { instrument: string; filekind: string } {
  const [, instrument = '', ...kind] = mappingSeries(rmap).series.split('_');
  return { instrument, filekind: kind.join('_') };
}

/** The rmap `base` uses for (instrument, filekind), if any. */
function rmapOf(store: MappingStore, base: string, instrument: string, filekind: string): string | undefined {
  const imap = store.loadContext(base).selections.get(instrument);
  return imap ? (store.load(imap) as unknown as { selections: ReadonlyMap<string, string> }).selections.get(filekind) : undefined;
}

/** The refusal when a submitted type's rmap changed in `base` since the submission derived from it. */
export function staleRmapsRefusal(store: MappingStore, base: string, rmaps: ReadySubmission['rmaps']): string | undefined {
  const stale = rmaps.flatMap((g) => {
    const { instrument, filekind } = rmapKind(g.derivedFrom);
    const current = rmapOf(store, base, instrument, filekind);
    return current === g.derivedFrom ? [] : [`'${g.name}' was made from '${g.derivedFrom}', but context '${base}' now uses '${current ?? 'no rmap'}' for ${instrument} ${filekind}`];
  });
  if (!stale.length) return undefined;
  return `Cannot confirm: ${stale.join('; ')}. Another submission delivered rules of the same type meanwhile; please submit your files again.`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createContextActivities(deps: SubmissionActivityDeps) {
  const { db, config, specsRoot } = deps;

  /** Runs `work` holding the context-generation lock, waiting (heartbeating) for it first and renewing its lease meanwhile. */
  async function withContextLock<T>(submissionId: string, work: (holder: string) => Promise<T>): Promise<T> {
    const holder = contextLockHolder(submissionId);
    const leaseMs = config.submission.contextLockLeaseMs;
    for (;;) {
      const r = await takeContextLock(db, holder, leaseMs);
      if (r.taken) break;
      heartbeat({ phase: 'waiting for the context-generation lock', holder: r.holder });
      if (cancellationSignal()?.aborted) throw new Error('cancelled while waiting for the context-generation lock');
      await sleep(Math.min(500, leaseMs / 4));
    }
    let renewing: Promise<unknown> | undefined;
    const timer = setInterval(() => {
      heartbeat({ phase: 'holding the context-generation lock' });
      // A renewal that fails (database restarting) is tried again at the next tick; the commit checks the lease.
      renewing ??= takeContextLock(db, holder, leaseMs)
        .catch(() => undefined)
        .finally(() => (renewing = undefined));
    }, Math.max(100, Math.floor(leaseMs / 4)));
    try {
      return await work(holder);
    } finally {
      clearInterval(timer);
      await renewing;
      await releaseContextLock(db, holder).catch(() => undefined);
    }
  }

  return {
    /**
     * Checks a confirm, force or cancel against the catalog as it is now: the deciding user
     * exists and holds the lock the action needs (their current lock, read here), and for a
     * confirm or force the base context still has the rmaps the submission derived from.
     * Throws the refusal as a user error.
     */
    async verifySubmissionDecision(input: ReadySubmission & { action: string; decidedBy: string }): Promise<void> {
      const user = await db.models.User.findOne({ where: { username: input.decidedBy } });
      if (!user || !user.isActive) throw userError(`Unknown or inactive user '${input.decidedBy}'.`);
      const lock = await findLock(db, input.decidedBy);
      const held = lock ? { instrument: lock.name, lockId: lockId(lock), expiresAt: lock.expiresAt.toISOString() } : undefined;
      const refusal = decisionRefusal(input, input.action, input.decidedBy, held, Date.now());
      if (refusal) throw userError(refusal);
      if (input.action === 'cancel') return;
      const base = await resolveContext(db, input);
      const stale = staleRmapsRefusal(new MappingStore(submissionPaths(config, input.observatory).mappings, { ignoreChecksum: 'warn' }), base, input.rmaps);
      if (stale) throw userError(stale);
    },

    /**
     * Makes the imaps and the pmap from the base context as it is now and delivers the
     * submission, under the context-generation lock. A re-run after a crash finds its work:
     * the delivery committed (finish publishing it), or the names it drew for the same base
     * (reused); names drawn for a base that has moved on are removed and drawn afresh.
     */
    async confirmSubmission(input: ConfirmInput): Promise<ConfirmResult> {
      const paths = submissionPaths(config, input.observatory);
      return withContextLock(input.submissionId, async (holder) => {
        const store = new MappingStore(paths.mappings, { ignoreChecksum: 'warn' });
        const rmapNames = input.rmaps.map((g) => g.name);
        const load = (n: string) => fs.readFileSync(store.locate(n), 'utf8');
        const { link } = await deliveryOf(deps, input);

        // Delivered by an earlier attempt: what it delivered is in the catalog.
        const delivered = await db.models.CatalogFile.findAll({ where: { catalogLink: link } });
        if (delivered.length) {
          const generated = delivered.filter((r) => r.type === 'mapping' && !rmapNames.includes(r.name)).map((r) => ({ name: r.name, derivedFrom: r.derivedFrom ?? '' }));
          const pmap = generated.find((g) => g.name.endsWith('.pmap'))!;
          describeDifferences(generated, load);
          const result = await publishDelivery(deps, input);
          return { ...result, base: pmap.derivedFrom, newContext: pmap.name, generated, actions: [] };
        }

        const base = await resolveContext(db, input);
        const stale = input.checkStale === false ? undefined : staleRmapsRefusal(store, base, input.rmaps);
        if (stale) throw userError(stale);

        // Names drawn by an attempt that built on another base: their files go.
        const records = await submissionRecords(db, input.submissionId);
        const outdated = Object.entries(records)
          .filter(([slot]) => slot.startsWith('name:ctx:') && !slot.startsWith(`name:${contextSlot(base, '')}`))
          .map(([, name]) => name);
        await removeUploaded(deps, input.observatory, input.username, outdated);

        // New imaps and pmap: names drawn first, since newContext asks for them synchronously.
        const pmap = store.loadContext(base);
        const imaps = [...new Set(input.rmaps.map((g) => pmap.selections.get(rmapKind(g.name).instrument)))];
        if (imaps.includes(undefined)) throw userError(`Context '${base}' has no imap for an instrument of ${rmapNames.map((n) => `'${n}'`).join(', ')}.`);
        const names = new Map<string, string>();
        for (const old of [base, ...(imaps as string[])]) {
          names.set(old, await assignSerialName(db, input.submissionId, contextSlot(base, old), mappingSeries(old).series, path.extname(old)));
        }
        const chain = newContext(base, rmapNames, load, (old) => {
          const n = names.get(old);
          if (!n) throw new Error(`no name drawn for '${old}'`);
          return n;
        });
        const texts = new Map(chain.files.map((f) => [f.name, f.text]));
        const generated: GeneratedMapping[] = chain.files.map((f) => ({ name: f.name, derivedFrom: Object.entries(chain.names).find(([, v]) => v === f.name)![0] }));
        // A re-run on the same base makes the same texts: the files (and their delivery links) stay as they are.
        for (const [name, text] of texts) {
          const file = path.join(paths.mappings, name);
          if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text) continue;
          writeAtomically(file, text);
          fs.rmSync(path.join(paths.deliveries, name), { force: true });
        }
        heartbeat({ phase: 'contexts written' });
        // Certified as the original certifies the contexts it makes; an error here is the rules' fault, not a retry's.
        const checkStore = new MappingStore(paths.mappings, { ignoreChecksum: 'warn' });
        for (const g of generated) {
          const r = certifyFile(path.join(paths.mappings, g.name), { observatory: input.observatory, specsRoot, store: checkStore, context: base });
          const errors = r.findings.filter((f) => f.level === 'ERROR');
          if (errors.length) throw userError(`The new context '${g.name}' fails certify: ${errors.map((e) => e.message).join('; ')}`);
        }
        describeDifferences(generated, (n) => texts.get(n) ?? load(n));
        await db.sequelize.transaction(async (transaction) => {
          await catalogMappings(db, generated, texts, input, transaction);
          await bumpGeneration(db, transaction);
        });

        const newPmap = names.get(base)!;
        const result = await prepareAndCommitDelivery(
          deps,
          { ...input, names: [...input.references, ...(input.deliverRmaps === false ? [] : rmapNames), ...generated.map((g) => g.name)], newContext: newPmap },
          async (transaction) => {
            // The fence: only the lock's holder commits, and the edit context moves in the same transaction.
            if (!(await stillHoldsContextLock(db, holder, config.submission.contextLockLeaseMs, transaction))) throw new Error('The context-generation lock was lost before the delivery committed; trying again.');
            await setDefaultContext(db, { state: 'edit', context: newPmap, username: input.username, description: input.description, mappingsDir: paths.mappings, transaction });
          },
        );
        heartbeat({ phase: 'delivery committed' });
        await publishDelivery(deps, input);
        return { ...result, base, newContext: newPmap, generated, actions: chain.actions };
      });
    },

    /**
     * Delivers a submission that makes no contexts (simple submits): its files as they are.
     * A delivered pmap becomes the edit context, as the original's "highest delivered pmap",
     * under the context-generation lock like every change of the edit context.
     */
    async deliverSubmittedFiles(input: { submissionId: string; observatory: string; username: string; description: string; names: string[]; uploadedAs: string[]; action?: string }): Promise<DeliverResult & { newContext?: string }> {
      const paths = submissionPaths(config, input.observatory);
      const pmaps = input.names.filter((n) => n.endsWith('.pmap')).sort();
      const newPmap = pmaps[pmaps.length - 1];
      const deliver = async (holder?: string) => {
        const result = await prepareAndCommitDelivery(deps, { ...input, newContext: newPmap ?? '' }, async (transaction) => {
          if (!newPmap || !holder) return;
          if (!(await stillHoldsContextLock(db, holder, config.submission.contextLockLeaseMs, transaction))) throw new Error('The context-generation lock was lost before the delivery committed; trying again.');
          await setDefaultContext(db, { state: 'edit', context: newPmap, username: input.username, description: input.description, mappingsDir: paths.mappings, transaction });
        });
        await publishDelivery(deps, input);
        return { ...result, newContext: newPmap };
      };
      return newPmap ? withContextLock(input.submissionId, deliver) : deliver();
    },
  };
}
