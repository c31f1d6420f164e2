// The submission workflow's side effects (workflows/submission.ts): ingest, certify, rules
// generation, cancel, delivery and the archive watch. Each is idempotent: a re-run after a
// crash finds its own earlier work (links already made, rows already written, names and
// the delivery id already drawn, recorded in submission_records) and finishes it.
// User errors (a file fails certify, a name clash) are non-retryable failures of type
// SubmissionError with a message for the submitter; anything else retries.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Context, ApplicationFailure } from '@temporalio/activity';
import { Op } from 'sequelize';
import type { Config } from '../config';
import type { Database } from '../db';
import { bumpGeneration, defaultContexts, NEVER_ACTIVATED, NO_USEAFTER, setDefaultContext } from '../db/catalog';
import { contextSerial, FILE_NAME_RE, sha1sum, useafterOf } from '../db/catalog-import';
import { referenceKeywords, type ReferenceKeywords } from '../crds/reference-header';
import { releaseLocks } from '../db/locks';
import { assignDeliveryId, assignSerialName, recordOnce, recorded } from '../db/submissions';
import { CrdsError, MappingStore, mappingSeries } from '../crds';
import { certifyInThread } from './certify-thread';
import { newReferenceName, referenceKind } from './reference-names';
import { checkGroup } from '../crds/certify';
import { mappingDifferences, removeBoring, type Difference } from '../crds/diff';
import { newContext, rmapInsertReferences, type ReferenceToInsert } from '../crds/refactor';
import type { DeliveryState, GeneratedMapping, GroupCheckResult, PmapMode, SubmittedFile } from '../workflows/submission-types';

export interface SubmissionActivityDeps {
  db: Database;
  config: Config;
  /** Type specs and certify constraints: <specsRoot>/<obs>/{specs,tpns}. */
  specsRoot: string;
}

export const SUBMISSION_ERROR = 'SubmissionError';

/** A problem of the submission itself: reported to the submitter, never retried. */
export function userError(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, SUBMISSION_ERROR);
}

/** Where a site keeps a submission's files (crds-protocol.md §6). */
export function submissionPaths(config: Config, observatory: string) {
  return {
    ingest: (username: string) => path.join(config.serverFiles, 'ingest', username),
    submission: (submissionId: string) => path.join(config.serverFiles, 'submissions', submissionId),
    deliveries: path.join(config.serverFiles, 'deliveries'),
    catalogs: path.join(config.serverFiles, 'catalogs'),
    mappings: path.join(config.fileCache, 'mappings', observatory),
    references: path.join(config.fileCache, 'references', observatory),
  };
}

/** HST catalogs are `opus_<id>_i.cat` (i = insert); other observatories `<obs>_<id>.cat`. */
export function catalogName(observatory: string, deliveryId: number): string {
  return observatory === 'hst' ? `opus_${deliveryId}_i.cat` : `${observatory}_${deliveryId}.cat`;
}

/** The archive's renames of a delivery catalog and the file state each means (§6). */
export const CATALOG_SUFFIXES: [string, DeliveryState][] = [
  ['', 'delivered'],
  ['_SUBMIT', 'submitted'],
  ['_submit', 'submitted'],
  ['_PROC', 'archiving'],
  ['_proc', 'archiving'],
  ['_ERROR', 'archiving-failed'],
  ['_error', 'archiving-failed'],
];

/** interpret_catalog_link: which name of the catalog exists in the delivery folder; none = archived. */
export function catalogState(deliveriesDir: string, catalog: string): DeliveryState {
  for (const [suffix, state] of CATALOG_SUFFIXES) if (fs.existsSync(path.join(deliveriesDir, catalog + suffix))) return state;
  return 'archived';
}

/** Hard link `from` → `to`; an existing `to` that is the same file is fine (a re-run). */
function linkOnce(from: string, to: string): void {
  try {
    fs.linkSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const [a, b] = [fs.statSync(from), fs.statSync(to)];
    if (a.ino !== b.ino || a.dev !== b.dev) throw new Error(`'${to}' already exists and is another file than '${from}'`);
  }
}

/** Writes a file whole or not at all (temporary name, then rename). */
function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o444 });
  fs.renameSync(tmp, file);
}

/** The activity's cancellation signal, or undefined outside an activity. */
function cancellationSignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

function heartbeat(details?: unknown): void {
  // Activities run outside a Temporal context in unit use; heartbeats only matter inside.
  try {
    Context.current().heartbeat(details);
  } catch {
    /* not in an activity */
  }
}

export interface IngestInput {
  submissionId: string;
  observatory: string;
  username: string;
  /** The files to submit; none: every file of the ingest folder. */
  names?: string[];
}

export interface ResolveContextInput {
  pmapMode: PmapMode;
  pmapName?: string;
}

export interface CertifyInput {
  submissionId: string;
  observatory: string;
  uploadedAs: string;
  context: string;
  compareOldReference: boolean;
}

export interface GroupCheckInput {
  submissionId: string;
  observatory: string;
  context: string;
  uploadedAs: string[];
}

/** Differences shown per generated mapping; a mass replacement says how many more there were. */
const MAX_DIFFERENCES = 200;

/**
 * One difference as a line: the nested mapping pairs, match values (KEY=value), useafter,
 * then what changed; the first `skip` path elements (the pair the line is shown under) left out.
 */
export function differenceLine(d: Difference, skip = 0): string {
  const parts: string[] = [];
  d.tuple.slice(0, -1).forEach((el, i) => {
    if (i < skip) return;
    const names = d.parameterNames[i];
    if (typeof el === 'string') parts.push(el);
    else if (el.length === 2 && /\.[pir]map$/.test(el[0]!)) parts.push(`${el[0]} → ${el[1]}`);
    else if (Array.isArray(names) && names.join() === 'DATE-OBS,TIME-OBS') parts.push(`useafter ${el.join(' ')}`);
    else if (Array.isArray(names) && names.length === el.length) parts.push(el.map((v, j) => `${names[j]}=${v}`).join(' '));
    else parts.push(`(${el.join(', ')})`);
  });
  return [...parts, String(d.tuple[d.tuple.length - 1])].join(' · ');
}

export interface GenerateInput {
  submissionId: string;
  observatory: string;
  username: string;
  context: string;
  files: SubmittedFile[];
  autoRename: boolean;
  changeLevel: string;
  creator: string;
  description: string;
}

export interface GenerateResult {
  files: SubmittedFile[];
  generated: GeneratedMapping[];
  newContext: string;
  actions: string[];
}

export interface DeliverInput {
  submissionId: string;
  observatory: string;
  username: string;
  description: string;
  /** Every file the submission delivers: references and generated mappings. */
  names: string[];
  newContext: string;
  uploadedAs: string[];
}

export interface DeliverResult {
  deliveryId: number;
  catalog: string;
}

export function createSubmissionActivities(deps: SubmissionActivityDeps) {
  const { db, config, specsRoot } = deps;

  /** A submitted reference's keywords (FITS, ASDF, JSON or YAML); unreadable is the submitter's problem. */
  const keywordsOf = (file: string): ReferenceKeywords => {
    try {
      return referenceKeywords(file);
    } catch (err) {
      throw userError(`Cannot read the header of '${path.basename(file)}': ${(err as Error).message}`);
    }
  };

  return {
    /**
     * Links every file of the submitter's ingest folder into the submission's own folder
     * (the ingest folder is left as it is until confirm) with sizes and SHA-1 sums.
     */
    async ingestSubmissionFiles(input: IngestInput): Promise<SubmittedFile[]> {
      const paths = submissionPaths(config, input.observatory);
      const ingest = paths.ingest(input.username);
      const present = fs.existsSync(ingest) ? fs.readdirSync(ingest).filter((n) => fs.statSync(path.join(ingest, n)).isFile()).sort() : [];
      const names = input.names ? [...input.names].sort() : present;
      const target = paths.submission(input.submissionId);
      // A re-run after the ingest folder was emptied (confirm) keeps what it linked before.
      const linked = fs.existsSync(target) ? fs.readdirSync(target).sort() : [];
      const all = [...new Set([...linked, ...names])].sort();
      if (!all.length) throw userError('No input files were specified.');
      for (const n of all) if (!FILE_NAME_RE.test(n)) throw userError(`File name '${n}' is not allowed: use letters, digits, '.', '_' and '-'.`);
      fs.mkdirSync(target, { recursive: true });
      const files: SubmittedFile[] = [];
      for (const name of all) {
        const to = path.join(target, name);
        if (!fs.existsSync(to)) {
          if (!present.includes(name)) throw userError(`File '${name}' is no longer in your ingest folder.`);
          try {
            linkOnce(path.join(ingest, name), to);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
            fs.copyFileSync(path.join(ingest, name), `${to}.tmp`);
            fs.renameSync(`${to}.tmp`, to);
          }
        }
        const size = fs.statSync(to).size;
        const sha1 = await sha1sum(to, (bytes) => heartbeat({ file: name, bytes }));
        files.push({ uploadedAs: name, size, sha1sum: sha1 });
      }
      const identical = await db.models.CatalogFile.findAll({ attributes: ['name', 'sha1sum'], where: { sha1sum: files.map((f) => f.sha1sum), state: { [Op.ne]: 'uploaded' } } });
      for (const f of files) {
        const same = identical.filter((r) => r.sha1sum === f.sha1sum).map((r) => `'${r.name}'`);
        if (same.length) throw userError(`Submitted file '${f.uploadedAs}' is identical to existing files: ${same.join(', ')}`);
      }
      return files;
    },

    /** The derivation context now: the edit or latest default, or the named .pmap. */
    async resolveDerivationContext(input: ResolveContextInput): Promise<string> {
      if (input.pmapMode === 'pmap_text' || (input.pmapMode === undefined && input.pmapName)) {
        const name = input.pmapName ?? '';
        const row = await db.models.CatalogFile.findOne({ where: { name } });
        if (!row || !name.endsWith('.pmap')) throw userError(`Context '${name}' is not a known .pmap.`);
        return name;
      }
      const defaults = await defaultContexts(db);
      const context = input.pmapMode === 'pmap_latest' || input.pmapMode === 'pmap_operational' ? defaults.latest : defaults.edit;
      if (!context) throw userError(`This server has no ${input.pmapMode === 'pmap_latest' ? 'latest' : 'edit'} context to derive from.`);
      return context;
    },

    /**
     * crds certify of one uploaded file against the derivation context, in a worker thread
     * while the activity heartbeats (a killed worker's certify is retried within the
     * heartbeat timeout).
     */
    async certifySubmissionFile(input: CertifyInput): Promise<SubmittedFile['certify'] & { instrument: string; filekind: string }> {
      const paths = submissionPaths(config, input.observatory);
      const file = path.join(paths.submission(input.submissionId), input.uploadedAs);
      heartbeat({ file: input.uploadedAs, phase: 'start' });
      const result = await certifyInThread(
        file,
        {
          observatory: input.observatory,
          specsRoot,
          mappingsDir: paths.mappings,
          context: input.context,
          referencesDir: input.compareOldReference ? paths.references : undefined,
        },
        () => heartbeat({ file: input.uploadedAs, phase: 'certifying' }),
        5_000,
        cancellationSignal(),
      );
      heartbeat({ file: input.uploadedAs, phase: 'done' });
      let kind = { instrument: '', filekind: '' };
      if (result.errors === 0) kind = referenceKind(specsRoot, input.observatory, file);
      return {
        errors: result.errors,
        warnings: result.warnings,
        findings: result.findings.map((f) => ({ level: f.level as 'ERROR' | 'WARNING' | 'INFO', message: f.message })),
        ...kind,
      };
    },

    /**
     * Certify's group check (certify.check_rmap_updates), as the real server runs it after
     * every file passed: all submitted references trial-inserted, per type, into their rmaps
     * of the derivation context, each result certified as a mapping. Findings name uploads
     * by their uploaded names, never by the server's paths.
     */
    async checkSubmissionGroup(input: GroupCheckInput): Promise<GroupCheckResult[]> {
      const paths = submissionPaths(config, input.observatory);
      const dir = paths.submission(input.submissionId);
      heartbeat({ phase: 'group check' });
      const results = checkGroup(
        input.uploadedAs.map((n) => path.join(dir, n)),
        { observatory: input.observatory, specsRoot, mappingsDir: paths.mappings, context: input.context },
      );
      const local = (text: string) => text.split(`${dir}${path.sep}`).join('');
      return results.map((r) => ({
        rmap: r.group && r.file !== 'rmap update check' ? path.basename(r.file) : undefined,
        references: (r.group?.references ?? []).map((f) => path.basename(f)),
        errors: r.errors,
        warnings: r.warnings,
        findings: r.findings.map((f) => ({ level: f.level as 'ERROR' | 'WARNING' | 'INFO', message: local(f.message) })),
      }));
    },

    /**
     * Names the references, inserts them into new rmaps, then makes new imaps and a new pmap
     * (serial names from the catalog counters, drawn once per submission), links the
     * references and writes the mappings into the file cache, and catalogs them all as
     * `uploaded`.
     */
    async generateSubmissionRules(input: GenerateInput): Promise<GenerateResult> {
      const paths = submissionPaths(config, input.observatory);
      const store = new MappingStore(paths.mappings, { ignoreChecksum: 'warn' });
      const pmap = store.loadContext(input.context);
      const { CatalogFile } = db.models;
      // Each reference's header is read once, for its rmap insertion and its catalog row.
      const keywords = new Map(input.files.map((f) => [f.uploadedAs, keywordsOf(path.join(paths.submission(input.submissionId), f.uploadedAs))]));
      try {
        // 1. a CRDS name per reference
        const files: SubmittedFile[] = [];
        for (const f of input.files) {
          let name = f.uploadedAs;
          if (input.autoRename) {
            name = await newReferenceName({ db, specsRoot }, { ...input, uploadedAs: f.uploadedAs, instrument: f.instrument!, filekind: f.filekind! }, new Set(files.map((x) => x.name!)));
          } else {
            const taken = await CatalogFile.findOne({ where: { name } });
            if (taken && !(taken.state === 'uploaded' && taken.uploadedAs === f.uploadedAs && taken.sha1sum === f.sha1sum)) {
              throw userError(`File '${name}' already exists in CRDS: submit it with auto-rename.`);
            }
          }
          files.push({ ...f, name });
        }
        // 2. rmaps: the references of each (instrument, filekind) go into its rmap of the context
        const byRmap = new Map<string, ReferenceToInsert[]>();
        for (const f of files) {
          const imapName = pmap.selections.get(f.instrument!);
          if (!imapName) throw userError(`Instrument '${f.instrument}' of '${f.uploadedAs}' is not in context '${input.context}'.`);
          const rmapName = (store.load(imapName) as unknown as { selections: ReadonlyMap<string, string> }).selections.get(f.filekind!);
          if (!rmapName || !rmapName.endsWith('.rmap')) throw userError(`Type '${f.filekind}' of '${f.uploadedAs}' has no rmap in '${imapName}'.`);
          // The header certify's group check trial-inserted (META.* keys for JWST rmaps' parkeys).
          const { header } = keywords.get(f.uploadedAs)!;
          const list = byRmap.get(rmapName) ?? [];
          list.push({ basename: f.name!, header });
          byRmap.set(rmapName, list);
        }
        const newTexts = new Map<string, string>();
        const generated: GeneratedMapping[] = [];
        const actions: string[] = [];
        for (const [old, refs] of [...byRmap.entries()].sort()) {
          const name = await assignSerialName(db, input.submissionId, `map:${old}`, mappingSeries(old).series, '.rmap');
          const r = rmapInsertReferences(fs.readFileSync(store.locate(old), 'utf8'), old, refs, { newName: name });
          if (r.errors.length) throw userError(r.errors.join('\n'));
          newTexts.set(name, r.text);
          generated.push({ name, derivedFrom: old });
          actions.push(`Inserted ${refs.map((x) => `'${x.basename}'`).join(', ')} into '${old}' producing '${name}'`);
        }
        // 3. imaps and the pmap: names drawn first, since newContext asks for them synchronously
        const newRmaps = [...newTexts.keys()];
        const imaps = [...new Set(generated.map((g) => pmap.selections.get(mappingSeries(g.derivedFrom).series.split('_')[1]!)!))];
        const contextNames = new Map<string, string>();
        for (const old of [input.context, ...imaps]) {
          contextNames.set(old, await assignSerialName(db, input.submissionId, `map:${old}`, mappingSeries(old).series, path.extname(old)));
        }
        const chain = newContext(
          input.context,
          newRmaps,
          (n) => newTexts.get(n) ?? fs.readFileSync(store.locate(n), 'utf8'),
          (old) => {
            const n = contextNames.get(old);
            if (!n) throw new Error(`no name drawn for '${old}'`);
            return n;
          },
        );
        for (const f of chain.files) {
          newTexts.set(f.name, f.text);
          generated.push({ name: f.name, derivedFrom: Object.entries(chain.names).find(([, v]) => v === f.name)![0] });
        }
        actions.push(...chain.actions);
        // What each new mapping changes in the one it replaces, for the ready page.
        const load = (n: string) => newTexts.get(n) ?? fs.readFileSync(store.locate(n), 'utf8');
        for (const g of generated) {
          const diffs = removeBoring(mappingDifferences(g.derivedFrom, g.name, load));
          g.differences = diffs.slice(0, MAX_DIFFERENCES).map((d) => differenceLine(d, 1)); // shown under g's own pair
          if (diffs.length > MAX_DIFFERENCES) g.differenceCount = diffs.length;
        }
        // 4. files into the cache, then catalog rows; both find their earlier selves
        fs.mkdirSync(paths.references, { recursive: true });
        for (const f of files) {
          const to = path.join(paths.references, f.name!);
          linkOnce(path.join(paths.submission(input.submissionId), f.uploadedAs), to);
          fs.chmodSync(to, 0o444);
        }
        for (const [name, text] of newTexts) writeAtomically(path.join(paths.mappings, name), text);
        const now = new Date();
        const common = {
          state: 'uploaded',
          observatory: input.observatory,
          deliveryDate: now,
          activationDate: NEVER_ACTIVATED,
          changeLevel: input.changeLevel.toLowerCase(),
          creatorName: input.creator,
          delivererUser: input.username,
          description: input.description,
        };
        await db.sequelize.transaction(async (transaction) => {
          for (const f of files) {
            const k = keywords.get(f.uploadedAs)!;
            await CatalogFile.findOrCreate({
              where: { name: f.name! },
              defaults: {
                ...common,
                name: f.name!,
                type: 'reference',
                instrument: f.instrument!,
                filekind: f.filekind!,
                sha1sum: f.sha1sum,
                size: f.size,
                useafterDate: useafterOf(k.useafter),
                pedigree: k.pedigree ?? '',
                comment: k.description ?? null,
                uploadedAs: f.uploadedAs,
              },
              transaction,
            });
          }
          for (const g of generated) {
            const text = newTexts.get(g.name)!;
            const props = mappingSeries(g.name).series.split('_');
            await CatalogFile.findOrCreate({
              where: { name: g.name },
              defaults: {
                ...common,
                name: g.name,
                type: 'mapping',
                instrument: props[1] ?? '',
                filekind: props.slice(2).join('_'),
                derivedFrom: g.derivedFrom,
                sha1sum: createHash('sha1').update(text).digest('hex'),
                size: Buffer.byteLength(text),
                useafterDate: NO_USEAFTER,
                uploadedAs: g.name,
              },
              transaction,
            });
          }
          await bumpGeneration(db, transaction);
        });
        return { files, generated, newContext: contextNames.get(input.context)!, actions };
      } catch (err) {
        if (err instanceof CrdsError) throw userError(err.message);
        throw err;
      }
    },

    /**
     * Removes what a submission created and nothing else: its `uploaded` catalog rows and
     * their files in the cache (only rows it wrote, by deliverer and state), and its folder.
     */
    async removeSubmissionFiles(input: { submissionId: string; observatory: string; username: string; names: string[] }): Promise<string[]> {
      const paths = submissionPaths(config, input.observatory);
      const rows = input.names.length
        ? await db.models.CatalogFile.findAll({ where: { name: input.names, state: 'uploaded', delivererUser: input.username } })
        : [];
      for (const row of rows) {
        const file = path.join(row.type === 'mapping' ? paths.mappings : paths.references, row.name);
        fs.rmSync(file, { force: true });
      }
      if (rows.length) {
        await db.sequelize.transaction(async (transaction) => {
          await db.models.CatalogFile.destroy({ where: { id: rows.map((r) => r.id) }, transaction });
          await bumpGeneration(db, transaction);
        });
      }
      fs.rmSync(paths.submission(input.submissionId), { recursive: true, force: true });
      return rows.map((r) => r.name).sort();
    },

    /**
     * Delivery (§6): the delivery id (drawn once), the catalog written once in catalogs/,
     * hard links of the files in deliveries/, states → delivered, the edit context advanced,
     * the submitter's lock released and their ingest copies removed; the catalog appears
     * in deliveries/ last, through an atomic rename, so the archive never sees half a delivery
     * and a re-run never offers it twice.
     */
    async deliverSubmission(input: DeliverInput): Promise<DeliverResult> {
      const paths = submissionPaths(config, input.observatory);
      const deliveryId = await assignDeliveryId(db, input.submissionId, input.observatory);
      const catalog = catalogName(input.observatory, deliveryId);
      fs.mkdirSync(paths.catalogs, { recursive: true });
      fs.mkdirSync(paths.deliveries, { recursive: true });
      const permanent = path.join(paths.catalogs, catalog);
      if (!fs.existsSync(permanent)) writeAtomically(permanent, [...input.names].sort().join('\n') + '\n');
      heartbeat({ catalog, phase: 'catalog written' });

      const rows = await db.models.CatalogFile.findAll({ where: { name: input.names } });
      if (rows.length !== input.names.length) throw new Error(`catalog rows missing for ${input.names.filter((n) => !rows.some((r) => r.name === n)).join(', ')}`);
      for (const row of rows) {
        linkOnce(path.join(row.type === 'mapping' ? paths.mappings : paths.references, row.name), path.join(paths.deliveries, row.name));
      }
      heartbeat({ catalog, phase: 'files linked' });

      const link = path.join(paths.deliveries, catalog);
      const now = new Date();
      await db.sequelize.transaction(async (transaction) => {
        const pending = await db.models.CatalogFile.findAll({ where: { name: input.names, state: 'uploaded' }, transaction, lock: transaction.LOCK.UPDATE });
        if (!pending.length) return; // an earlier attempt got this far
        await db.models.CatalogFile.update(
          { state: 'delivered', catalogLink: link, deliveryDate: now },
          { where: { id: pending.map((r) => r.id) }, transaction },
        );
        // One audit record for the catalog and one per file (§4.6).
        await db.models.AuditRecord.bulkCreate(
          [catalog, ...[...input.names].sort()].map((filename) => {
            const row = rows.find((r) => r.name === filename);
            return {
              date: now,
              username: input.username,
              action: 'batch submit',
              filename,
              observatory: input.observatory,
              instrument: row?.instrument ?? '',
              filekind: row?.filekind ?? '',
              why: input.description,
              details: { files: [catalog, ...[...input.names].sort()], submission: input.submissionId },
            };
          }),
          { transaction },
        );
        await bumpGeneration(db, transaction);
      });
      // The edit context moves forward only (another submission may already be past ours).
      const { edit } = await defaultContexts(db);
      if (contextSerial(input.newContext) > contextSerial(edit)) {
        await setDefaultContext(db, {
          state: 'edit',
          context: input.newContext,
          username: input.username,
          description: input.description,
          mappingsDir: paths.mappings,
        });
      }
      await releaseLocks(db, input.username);
      // Ingest copies that are still the very files submitted (same inode) go, as at the original's confirm.
      const own = paths.submission(input.submissionId);
      for (const name of input.uploadedAs) {
        const ingest = path.join(paths.ingest(input.username), name);
        try {
          if (fs.statSync(ingest).ino === fs.statSync(path.join(own, name)).ino) fs.rmSync(ingest);
        } catch {
          /* already gone */
        }
      }
      // Publish: stage a hidden link, record that it is staged, rename it into place. A
      // missing stage after the record means the rename happened (maybe the archive is done).
      const stage = path.join(paths.deliveries, `.${catalog}.staged`);
      if (!(await recorded(db, input.submissionId, 'catalog-staged'))) {
        linkOnce(permanent, stage);
        await recordOnce(db, input.submissionId, 'catalog-staged', async () => now.toISOString());
      }
      if (fs.existsSync(stage)) fs.renameSync(stage, link);
      fs.rmSync(own, { recursive: true, force: true });
      return { deliveryId, catalog };
    },

    /**
     * Watches the delivery catalog's renames until its state differs from `known` (or it is
     * archived), heartbeating each look, and saves the state into the delivered files' rows.
     */
    async awaitCatalogChange(input: { observatory: string; catalog: string; known: DeliveryState; pollMs: number }): Promise<DeliveryState> {
      const paths = submissionPaths(config, input.observatory);
      const link = path.join(paths.deliveries, input.catalog);
      const cancelled = (() => {
        try {
          return Context.current().cancellationSignal;
        } catch {
          return undefined;
        }
      })();
      for (;;) {
        const state = catalogState(paths.deliveries, input.catalog);
        await db.sequelize.transaction(async (transaction) => {
          const [changed] = await db.models.CatalogFile.update(
            { state },
            { where: { catalogLink: link, state: ['delivered', 'submitted', 'archiving', 'archiving-failed'] }, transaction },
          );
          if (changed) await bumpGeneration(db, transaction);
        });
        if (state !== input.known || state === 'archived') return state;
        heartbeat({ catalog: input.catalog, state });
        await new Promise((resolve) => setTimeout(resolve, input.pollMs));
        if (cancelled?.aborted) throw new Error('cancelled');
      }
    },
  };
}

export type SubmissionActivities = ReturnType<typeof createSubmissionActivities>;
