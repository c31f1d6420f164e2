// The new files of the submission kinds besides batch submit (crds-protocol.md §5.4), at
// submit time; their imaps and pmap are made at confirm like batch submit's (contexts.ts).
// Simple submit catalogues the uploaded references or mappings as they are (a mapping
// submission with generate_contexts hands its rmaps to confirm); delete and add existing
// references make new rmaps of the derivation context without or with catalogued references;
// create_contexts checks the rmaps it installs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bumpGeneration } from '../../db/catalog';
import { assignSerialName } from '../../db/submissions';
import { CrdsError, MappingStore, mappingSeries } from '../../crds';
import { certifyFile } from '../../crds/certify';
import { mappingNameProperties, rmapDeleteReferences, rmapInsertReferences, type ReferenceToInsert } from '../../crds/refactor';
import type { GeneratedMapping, SubmittedFile } from '../../workflows/submission-types';
import { keywordsOf, linkOnce, submissionPaths, userError, writeAtomically, type SubmissionActivityDeps } from './common';
import { resolveContext, type ResolveContextInput } from './ingest';
import { catalogMappings, catalogReferences, describeDifferences, nameReferences, placeReferences, refuseTakenName, type SubmissionRowCommon } from './rules';

const MAPPING = /\.[pir]map$/;
/** A mapping name the catalog can take as it is: `<obs>_<instrument>[_<type>]_<serial>.?map`. */
const MAPPING_NAME = /^[a-z]+(_[a-z0-9]+)*_\d{4}\.[pir]map$/;

type Selections = { selections: ReadonlyMap<string, string> };

/** The mapping `context` uses for (instrument, filekind); the context itself for a pmap. */
function currentMapping(store: MappingStore, context: string, name: string): string | undefined {
  if (name.endsWith('.pmap')) return context;
  const { instrument, filekind } = mappingNameProperties(name);
  const imap = store.loadContext(context).selections.get(instrument);
  if (!imap || name.endsWith('.imap')) return imap;
  return (store.load(imap) as unknown as Selections).selections.get(filekind);
}

export interface SimpleSubmitInput extends SubmissionRowCommon {
  submissionId: string;
  kind: 'reference' | 'mapping';
  context: string;
  files: SubmittedFile[];
  autoRename: boolean;
  generateContexts: boolean;
}

export interface KindResult {
  files: SubmittedFile[];
  generated: GeneratedMapping[];
  /** The rmaps confirm installs into new imaps and a pmap; none: the files are delivered as they are. */
  contextRmaps: { name: string; derivedFrom: string }[];
  actions: string[];
}

export interface RefactorInput extends SubmissionRowCommon {
  submissionId: string;
  action: 'delete' | 'add';
  /** The instrument the submitter is locked for: every reference must be of it. */
  instrument: string;
  context: string;
  references: string[];
}

export function createKindActivities(deps: SubmissionActivityDeps) {
  const { db, config, specsRoot } = deps;

  /** Certifies new mappings already in the cache against `context`; their errors are the submitter's. */
  function certifyNew(observatory: string, context: string, names: string[]): void {
    const paths = submissionPaths(config, observatory);
    const store = new MappingStore(paths.mappings, { ignoreChecksum: 'warn' });
    for (const name of names) {
      const r = certifyFile(path.join(paths.mappings, name), { observatory, specsRoot, store, context });
      const errors = r.findings.filter((f) => f.level === 'ERROR');
      if (errors.length) throw userError(`The new rmap '${name}' fails certify: ${errors.map((e) => e.message).join('; ')}`);
    }
  }

  return {
    /**
     * Simple submit (`/submit/reference/`, `/submit/mapping/`): the certified uploads named
     * (references may be renamed; mappings keep their names), placed in the cache and
     * catalogued as `uploaded`. With generate_contexts only rmaps are accepted, and they are
     * what confirm installs.
     */
    async catalogSimpleSubmission(input: SimpleSubmitInput): Promise<KindResult> {
      const paths = submissionPaths(config, input.observatory);
      const mappings = input.files.filter((f) => MAPPING.test(f.uploadedAs));
      const references = input.files.filter((f) => !MAPPING.test(f.uploadedAs));
      if (input.kind === 'reference' && mappings.length) throw userError(`'${mappings[0]!.uploadedAs}' is a mapping: submit mappings on the mapping submission page.`);
      if (input.kind === 'mapping' && references.length) throw userError(`'${references[0]!.uploadedAs}' is not a mapping: submit references on the reference submission page.`);
      if (input.kind === 'reference') {
        const keywords = new Map(references.map((f) => [f.uploadedAs, keywordsOf(path.join(paths.submission(input.submissionId), f.uploadedAs))]));
        const files = await nameReferences(deps, input);
        placeReferences(paths, input.submissionId, files);
        await db.sequelize.transaction(async (transaction) => {
          await catalogReferences(db, files, keywords, input, transaction);
          await bumpGeneration(db, transaction);
        });
        return { files, generated: [], contextRmaps: [], actions: files.map((f) => `Added reference '${f.name}'${f.name !== f.uploadedAs ? ` (uploaded as '${f.uploadedAs}')` : ''}`) };
      }
      // Mappings keep their names: the header names them, and the rules that use them.
      const notRmap = mappings.find((f) => !f.uploadedAs.endsWith('.rmap'));
      if (input.generateContexts && notRmap) {
        throw userError(`Only .rmap files may be submitted with 'generate contexts': '${notRmap.uploadedAs}' is a ${path.extname(notRmap.uploadedAs)}. New imaps and the pmap are made from the rmaps at confirm.`);
      }
      const store = new MappingStore(paths.mappings, { ignoreChecksum: 'warn' });
      const generated: GeneratedMapping[] = [];
      for (const f of mappings) {
        if (!MAPPING_NAME.test(f.uploadedAs) || mappingSeries(f.uploadedAs).series.split('_')[0] !== input.observatory) {
          throw userError(`'${f.uploadedAs}' is not a valid ${input.observatory} mapping name such as ${input.observatory}_cos_xtractab_0250.rmap.`);
        }
        await refuseTakenName(db, f);
        const derivedFrom = currentMapping(store, input.context, f.uploadedAs);
        if (!derivedFrom && input.generateContexts) throw userError(`Context '${input.context}' has no rmap of the type of '${f.uploadedAs}' to replace.`);
        generated.push({ name: f.uploadedAs, derivedFrom: derivedFrom ?? '' });
      }
      const texts = new Map<string, string>();
      for (const f of mappings) {
        const to = path.join(paths.mappings, f.uploadedAs);
        linkOnce(path.join(paths.submission(input.submissionId), f.uploadedAs), to);
        fs.chmodSync(to, 0o444);
        texts.set(f.uploadedAs, fs.readFileSync(to, 'utf8'));
      }
      describeDifferences(
        generated.filter((g) => g.derivedFrom),
        (n) => texts.get(n) ?? fs.readFileSync(store.locate(n), 'utf8'),
      );
      await db.sequelize.transaction(async (transaction) => {
        await catalogMappings(db, generated, texts, input, transaction);
        await bumpGeneration(db, transaction);
      });
      const files = input.files.map((f) => ({ ...f, name: f.uploadedAs }));
      const contextRmaps = input.generateContexts ? generated.map((g) => ({ name: g.name, derivedFrom: g.derivedFrom })) : [];
      const actions = generated.map((g) => `Added mapping '${g.name}'${g.derivedFrom ? ` replacing '${g.derivedFrom}' of '${input.context}'` : ''}`);
      // The ready page lists the mappings under their differences; `files` lists them too.
      return { files, generated: [], contextRmaps, actions: [...actions, ...generated.flatMap((g) => (g.differences ?? []).map((d) => `${g.name}: ${d}`))] };
    },

    /**
     * Delete or add existing references (`/delete/reference/`, `/add_existing/reference/`):
     * each reference checked against the catalog and the derivation context, then new rmaps
     * of the context without (rmap_delete_references) or with (rmap_insert_references, the
     * header read from the cached file) them, certified and catalogued as `uploaded`.
     */
    async refactorReferences(input: RefactorInput): Promise<KindResult> {
      const paths = submissionPaths(config, input.observatory);
      const store = new MappingStore(paths.mappings, { ignoreChecksum: 'warn' });
      const pmap = store.loadContext(input.context);
      const inContext = new Set(pmap.referenceNames());
      const names = [...new Set(input.references)].sort();
      if (!names.length) throw userError(`No references were named to ${input.action}.`);
      const rows = await db.models.CatalogFile.findAll({ where: { name: names } });
      const byRmap = new Map<string, string[]>();
      for (const name of names) {
        const row = rows.find((r) => r.name === name);
        if (!row || row.state === 'uploaded') throw userError(`'${name}' is not a catalogued file.`);
        if (row.type !== 'reference') throw userError(`'${name}' is not a reference.`);
        if (row.instrument !== input.instrument) throw userError(`'${name}' is for instrument '${row.instrument}', but you are logged in for '${input.instrument}'.`);
        if (input.action === 'delete' && !inContext.has(name)) throw userError(`'${name}' is not in context '${input.context}': nothing to delete.`);
        if (input.action === 'add' && inContext.has(name)) throw userError(`'${name}' is already in context '${input.context}'.`);
        if (input.action === 'add' && (row.rejected || row.blacklisted)) throw userError(`'${name}' is marked bad and cannot be added.`);
        const imap = pmap.selections.get(row.instrument);
        const rmap = imap ? (store.load(imap) as unknown as Selections).selections.get(row.filekind) : undefined;
        if (!rmap || !rmap.endsWith('.rmap')) throw userError(`Type '${row.filekind}' of '${name}' has no rmap in context '${input.context}'.`);
        byRmap.set(rmap, [...(byRmap.get(rmap) ?? []), name]);
      }
      const texts = new Map<string, string>();
      const generated: GeneratedMapping[] = [];
      const actions: string[] = [];
      try {
        for (const [old, refs] of [...byRmap.entries()].sort()) {
          const name = await assignSerialName(db, input.submissionId, `map:${old}`, mappingSeries(old).series, '.rmap');
          const oldText = fs.readFileSync(store.locate(old), 'utf8');
          let text: string;
          if (input.action === 'delete') {
            text = rmapDeleteReferences(oldText, old, refs, { newName: name });
          } else {
            const inserts: ReferenceToInsert[] = refs.map((r) => ({ basename: r, header: keywordsOf(path.join(paths.references, r)).header }));
            const r = rmapInsertReferences(oldText, old, inserts, { newName: name });
            if (r.errors.length) throw userError(r.errors.join('\n'));
            text = r.text;
          }
          texts.set(name, text);
          generated.push({ name, derivedFrom: old });
          actions.push(`${input.action === 'delete' ? 'Deleted' : 'Inserted'} ${refs.map((x) => `'${x}'`).join(', ')} ${input.action === 'delete' ? 'from' : 'into'} '${old}' producing '${name}'`);
        }
      } catch (err) {
        if (err instanceof CrdsError) throw userError(err.message);
        throw err;
      }
      for (const [name, text] of texts) writeAtomically(path.join(paths.mappings, name), text);
      try {
        certifyNew(input.observatory, input.context, [...texts.keys()]);
      } catch (err) {
        for (const name of texts.keys()) fs.rmSync(path.join(paths.mappings, name), { force: true });
        throw err;
      }
      describeDifferences(generated, (n) => texts.get(n) ?? fs.readFileSync(store.locate(n), 'utf8'));
      await db.sequelize.transaction(async (transaction) => {
        await catalogMappings(db, generated, texts, input, transaction);
        await bumpGeneration(db, transaction);
      });
      return { files: [], generated, contextRmaps: generated.map((g) => ({ name: g.name, derivedFrom: g.derivedFrom })), actions };
    },

    /**
     * create_contexts: the rmaps to install are catalogued, delivered rmaps that are not
     * marked bad, of instruments the base context has; each is installed in place of the
     * base's rmap of its type (or as a new type).
     */
    async checkContextRmaps(input: ResolveContextInput & { observatory: string; rmaps: string[] }): Promise<{ base: string; rmaps: { name: string; derivedFrom: string }[] }> {
      const paths = submissionPaths(config, input.observatory);
      const store = new MappingStore(paths.mappings, { ignoreChecksum: 'warn' });
      const base = await resolveContext(db, input);
      const names = [...new Set(input.rmaps)].sort();
      if (!names.length) throw userError('No rmaps were named.');
      const rows = await db.models.CatalogFile.findAll({ where: { name: names } });
      const rmaps: { name: string; derivedFrom: string }[] = [];
      for (const name of names) {
        const row = rows.find((r) => r.name === name);
        if (!row || row.state === 'uploaded' || !name.endsWith('.rmap')) throw userError(`'${name}' is not a catalogued rmap.`);
        if (row.rejected || row.blacklisted) throw userError(`'${name}' is marked bad.`);
        const current = currentMapping(store, base, name);
        if (current === name) throw userError(`'${name}' is already in context '${base}'.`);
        if (!store.loadContext(base).selections.get(mappingNameProperties(name).instrument)) throw userError(`Context '${base}' has no instrument of '${name}'.`);
        rmaps.push({ name, derivedFrom: current ?? name });
      }
      return { base, rmaps };
    },
  };
}
