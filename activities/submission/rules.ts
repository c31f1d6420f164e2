// The new rules of a submission at submit time (crds-protocol.md §5.4 steps 6–9): a CRDS name
// per reference, the references inserted into new rmaps of the derivation context, their
// differences from the rmaps they replace, files into the cache and rows into the catalog as
// `uploaded`. The imaps and the pmap are made at confirm (contexts.ts). Also the removal of
// everything a cancelled or failed submission created.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Transaction } from 'sequelize';
import type { Database } from '../../db';
import { bumpGeneration, NEVER_ACTIVATED, NO_USEAFTER } from '../../db/catalog';
import { useafterOf } from '../../db/catalog-import';
import { assignSerialName, submissionRecords } from '../../db/submissions';
import { newReferenceName } from '../reference-names';
import { CrdsError, MappingStore, mappingSeries } from '../../crds';
import { mappingDifferences, removeBoring, type Difference } from '../../crds/diff';
import { rmapInsertReferences, type ReferenceToInsert } from '../../crds/refactor';
import type { GeneratedMapping, SubmittedFile } from '../../workflows/submission-types';
import { keywordsOf, linkOnce, submissionPaths, userError, writeAtomically, type SubmissionActivityDeps } from './common';


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


/** Each new mapping's differences from the one it replaces, for the ready and result pages. */
export function describeDifferences(generated: GeneratedMapping[], load: (name: string) => string): void {
  for (const g of generated) {
    const diffs = removeBoring(mappingDifferences(g.derivedFrom, g.name, load));
    g.differences = diffs.slice(0, MAX_DIFFERENCES).map((d) => differenceLine(d, 1)); // shown under g's own pair
    if (diffs.length > MAX_DIFFERENCES) g.differenceCount = diffs.length;
  }
}

/** What every catalog row of a submission's new files shares. */
export interface SubmissionRowCommon {
  observatory: string;
  changeLevel: string;
  creator: string;
  username: string;
  description: string;
}

function commonColumns(c: SubmissionRowCommon) {
  return {
    state: 'uploaded',
    observatory: c.observatory,
    deliveryDate: new Date(),
    activationDate: NEVER_ACTIVATED,
    changeLevel: c.changeLevel.toLowerCase(),
    creatorName: c.creator,
    delivererUser: c.username,
    description: c.description,
  };
}

/** Catalog rows (`uploaded`) of new mappings whose texts are `texts`; a re-run finds its rows. */
export async function catalogMappings(db: Database, generated: GeneratedMapping[], texts: Map<string, string>, c: SubmissionRowCommon, transaction: Transaction): Promise<void> {
  for (const g of generated) {
    const text = texts.get(g.name)!;
    const props = mappingSeries(g.name).series.split('_');
    await db.models.CatalogFile.findOrCreate({
      where: { name: g.name },
      defaults: {
        ...commonColumns(c),
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
}

/** Removes the `uploaded` catalog rows of `names` this user wrote, their files in the cache and any delivery link of them. */
export async function removeUploaded(deps: SubmissionActivityDeps, observatory: string, username: string, names: string[]): Promise<string[]> {
  const { db, config } = deps;
  const paths = submissionPaths(config, observatory);
  const rows = names.length ? await db.models.CatalogFile.findAll({ where: { name: names, state: 'uploaded', delivererUser: username } }) : [];
  for (const row of rows) {
    fs.rmSync(path.join(row.type === 'mapping' ? paths.mappings : paths.references, row.name), { force: true });
    fs.rmSync(path.join(paths.deliveries, row.name), { force: true });
  }
  if (rows.length) {
    await db.sequelize.transaction(async (transaction) => {
      await db.models.CatalogFile.destroy({ where: { id: rows.map((r) => r.id) }, transaction });
      await bumpGeneration(db, transaction);
    });
  }
  return rows.map((r) => r.name).sort();
}

/**
 * Removes what a submission created and nothing else: the `uploaded` rows of `names` and of
 * every name it drew (imaps and pmaps a failed confirm made included), and its folder.
 */
export async function removeCreatedFiles(deps: SubmissionActivityDeps, input: { submissionId: string; observatory: string; username: string; names: string[] }): Promise<string[]> {
  const drawn = Object.entries(await submissionRecords(deps.db, input.submissionId)).filter(([slot]) => slot.startsWith('name:')).map(([, name]) => name);
  const removed = await removeUploaded(deps, input.observatory, input.username, [...new Set([...input.names, ...drawn])]);
  fs.rmSync(submissionPaths(deps.config, input.observatory).submission(input.submissionId), { recursive: true, force: true });
  return removed;
}

/**
 * A CRDS name per submitted reference: a new one (auto-rename, drawn once per submission) or
 * its own, refused when another file has it already.
 */
export async function nameReferences(
  deps: SubmissionActivityDeps,
  input: { submissionId: string; observatory: string; files: SubmittedFile[]; autoRename: boolean },
): Promise<SubmittedFile[]> {
  const files: SubmittedFile[] = [];
  for (const f of input.files) {
    let name = f.uploadedAs;
    if (input.autoRename) {
      name = await newReferenceName({ db: deps.db, specsRoot: deps.specsRoot }, { ...input, uploadedAs: f.uploadedAs, instrument: f.instrument!, filekind: f.filekind! }, new Set(files.map((x) => x.name!)));
    } else {
      await refuseTakenName(deps.db, f);
    }
    files.push({ ...f, name });
  }
  return files;
}

/** Refuses a kept name another catalogued file has (its own `uploaded` row of a re-run is fine). */
export async function refuseTakenName(db: Database, f: SubmittedFile): Promise<void> {
  const taken = await db.models.CatalogFile.findOne({ where: { name: f.uploadedAs } });
  if (taken && !(taken.state === 'uploaded' && taken.uploadedAs === f.uploadedAs && taken.sha1sum === f.sha1sum)) {
    throw userError(`File '${f.uploadedAs}' already exists in CRDS: submit it with auto-rename.`);
  }
}

/** The named references linked from the submission's folder into the file cache, read-only. */
export function placeReferences(paths: ReturnType<typeof submissionPaths>, submissionId: string, files: SubmittedFile[]): void {
  fs.mkdirSync(paths.references, { recursive: true });
  for (const f of files) {
    const to = path.join(paths.references, f.name!);
    linkOnce(path.join(paths.submission(submissionId), f.uploadedAs), to);
    fs.chmodSync(to, 0o444);
  }
}

/** Catalog rows (`uploaded`) of named references with their headers' keywords; a re-run finds its rows. */
export async function catalogReferences(
  db: Database,
  files: SubmittedFile[],
  keywords: Map<string, ReturnType<typeof keywordsOf>>,
  common: SubmissionRowCommon,
  transaction: Transaction,
): Promise<void> {
  for (const f of files) {
    const k = keywords.get(f.uploadedAs)!;
    await db.models.CatalogFile.findOrCreate({
      where: { name: f.name! },
      defaults: {
        ...commonColumns(common),
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
  /** The new rmaps; the imaps and the pmap are made at confirm. */
  generated: GeneratedMapping[];
  actions: string[];
}

export function createRulesActivities(deps: SubmissionActivityDeps) {
  const { db, config, specsRoot } = deps;
  return {
    /**
     * Names the references and inserts them into new rmaps of the derivation context (serial
     * names from the catalog counters, drawn once per submission), links the references and
     * writes the rmaps into the file cache, and catalogs them all as `uploaded`.
     */
    async generateSubmissionRules(input: GenerateInput): Promise<GenerateResult> {
      const paths = submissionPaths(config, input.observatory);
      const store = new MappingStore(paths.mappings, { ignoreChecksum: 'warn' });
      const pmap = store.loadContext(input.context);
      // Each reference's header is read once, for its rmap insertion and its catalog row.
      const keywords = new Map(input.files.map((f) => [f.uploadedAs, keywordsOf(path.join(paths.submission(input.submissionId), f.uploadedAs))]));
      try {
        // 1. a CRDS name per reference
        const files = await nameReferences(deps, input);
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
        describeDifferences(generated, (n) => newTexts.get(n) ?? fs.readFileSync(store.locate(n), 'utf8'));
        // 3. files into the cache, then catalog rows; both find their earlier selves
        placeReferences(paths, input.submissionId, files);
        for (const [name, text] of newTexts) writeAtomically(path.join(paths.mappings, name), text);
        const common: SubmissionRowCommon = { ...input };
        await db.sequelize.transaction(async (transaction) => {
          await catalogReferences(db, files, keywords, common, transaction);
          await catalogMappings(db, generated, newTexts, common, transaction);
          await bumpGeneration(db, transaction);
        });
        return { files, generated, actions };
      } catch (err) {
        if (err instanceof CrdsError) throw userError(err.message);
        throw err;
      }
    },

    /** removeCreatedFiles of a cancelled or failed submission. */
    async removeSubmissionFiles(input: { submissionId: string; observatory: string; username: string; names: string[] }): Promise<string[]> {
      return removeCreatedFiles(deps, input);
    },
  };
}
