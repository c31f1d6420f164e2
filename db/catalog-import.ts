// Loads a site from a CRDS cache folder (mappings/<obs>, references/<obs>, config/<obs>), the
// original server's ./init: each mapping and reference present is copied into the server's
// file cache and catalogued with its real size and sha1sum, instrument and filekind, useafter
// and pedigree; files listed in config/<obs>/bad_files.txt are marked bad; the default
// contexts are set from arguments or to the newest context. Idempotent: a second run finds
// everything catalogued and reports that it added nothing.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Op, type CreationAttributes } from 'sequelize';
import { decomposeNewstyleName, isMappingName, MappingStore, reformatDate, type Mapping } from '../crds';
import { referenceKeywordsOrEmpty } from '../crds/reference-header';
import { referenceHeaderForInsert, referenceProperties } from '../crds/certify/reference';
import { loadSpecs } from '../crds/certify/tpn';
import {
  bumpGeneration,
  CatalogError,
  defaultContexts,
  markFilesBad,
  NEVER_ACTIVATED,
  NO_USEAFTER,
  setDefaultContext,
  type ContextState,
} from './catalog';
import type { Database } from './index';
import type { CatalogFileRow } from './models';
import { importContextHistory, readServerConfig } from './server-config';

export interface ImportOptions {
  /** The CRDS cache folder to import from. */
  source: string;
  /** The server's file cache (mappings/<obs>, references/<obs> are filled in). */
  fileCache: string;
  observatory: string;
  /** Default contexts to set; latest and edit default to the newest numbered context. */
  contexts?: Partial<Record<ContextState, string>>;
  username?: string;
  description?: string;
  /** When the import happens (delivery dates, context history); default now. */
  date?: Date;
  /**
   * Import the source site's latest-context history and default contexts from its
   * config/<obs>/server_config (default true; the history entries of catalogued contexts).
   */
  siteConfig?: boolean;
  /**
   * The site's type specs (CRDS_SPECS_DIR): a reference no rmap names and whose name does not
   * say its type is typed from its header as certify and the real library type it (HST
   * FILETYPE/DBTABLE translated through the specs). Without them, the header's own words.
   */
  specsDir?: string;
  log?: (line: string) => void;
}

export interface ImportReport {
  mappings: { added: number; known: number };
  references: { added: number; known: number };
  /** Files whose name is catalogued with other contents: left alone. */
  conflicts: string[];
  /** Files that could not be read or understood, with the reason: not catalogued. */
  skipped: { name: string; reason: string }[];
  rejected: string[];
  contexts: Partial<Record<ContextState, { context: string; changed: boolean }>>;
  /** Latest-context history entries from the source's server_config (importContextHistory). */
  history: { imported: number; known: number; uncatalogued: number };
}

type NewFile = CreationAttributes<CatalogFileRow>;

/** Files of a cache subfolder: flat, or one level of instrument folders (symlinks not followed). */
function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.isFile()) out.push(path.join(dir, e.name));
    else if (e.isDirectory()) {
      for (const f of fs.readdirSync(path.join(dir, e.name), { withFileTypes: true })) if (f.isFile()) out.push(path.join(dir, e.name, f.name));
    }
  }
  return out.sort();
}

/** The names CRDS distributes: what the download routes and the client accept. */
export const FILE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The SHA-1 of a file's bytes (hex), read in 8 MiB blocks; `progress` hears the bytes read so far. */
export async function sha1sum(file: string, progress?: (bytes: number) => void): Promise<string> {
  const hash = createHash('sha1');
  let bytes = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 8 << 20 })) {
    hash.update(chunk as Buffer);
    progress?.((bytes += (chunk as Buffer).length));
  }
  return hash.digest('hex');
}

/** A reference's USEAFTER header value as a date; NO_USEAFTER when absent or unreadable. */
export function useafterOf(raw: string | undefined): Date {
  if (!raw) return NO_USEAFTER;
  try {
    const d = new Date(reformatDate(raw).replace(' ', 'T') + 'Z');
    return Number.isNaN(d.getTime()) ? NO_USEAFTER : d;
  } catch {
    return NO_USEAFTER;
  }
}

/** Serial of a numbered context name (hst_0729.pmap → 729); -1 for others (hst.pmap, fixtures). */
export function contextSerial(name: string): number {
  const m = /^[a-z]+_(\d+)\.pmap$/.exec(name);
  return m ? Number(m[1]) : -1;
}

/**
 * Instrument and filekind of each reference named by rmaps: first the newest context's
 * rmaps, then (only while some reference is still unplaced) every other rmap, newest first.
 */
function referenceOwners(store: MappingStore, newestContext: string | undefined, rmapNames: string[], wanted: Set<string>): Map<string, { instrument: string; filekind: string }> {
  const owners = new Map<string, { instrument: string; filekind: string }>();
  const visit = (m: Mapping) => {
    if (m.kind !== 'rmap') return;
    for (const r of m.referenceNames()) if (wanted.has(r) && !owners.has(r)) owners.set(r, { instrument: m.instrument, filekind: m.filekind });
  };
  const seen = new Set<string>();
  if (newestContext) {
    try {
      const pmap = store.loadContext(newestContext);
      for (const name of pmap.mappingNames()) {
        seen.add(name);
        if (name.endsWith('.rmap')) visit(store.load(name));
      }
    } catch {
      /* an unreadable context places nothing; the scan below still may */
    }
  }
  for (const name of [...rmapNames].reverse()) {
    if (owners.size === wanted.size) break;
    if (seen.has(name)) continue;
    try {
      visit(store.load(name));
    } catch {
      /* unreadable rmap: skipped */
    }
  }
  return owners;
}

/** (instrument, filekind) of an unowned reference whose name says nothing, from its header. */
function headerKind(file: string, keywords: { instrument?: string; reftype?: string }, observatory: string, specsDir?: string): { instrument: string; filekind: string } {
  if (specsDir) {
    try {
      return referenceProperties(file, observatory, loadSpecs(specsDir, observatory), () => referenceHeaderForInsert(file).raw);
    } catch {
      /* not typeable by the specs: the header's words below */
    }
  }
  return { instrument: (keywords.instrument ?? '').toLowerCase(), filekind: (keywords.reftype ?? '').toLowerCase() };
}

export async function importCache(db: Database, options: ImportOptions): Promise<ImportReport> {
  const { observatory } = options;
  const log = options.log ?? (() => undefined);
  const username = options.username ?? 'crds-init';
  const now = options.date ?? new Date();
  const report: ImportReport = { mappings: { added: 0, known: 0 }, references: { added: 0, known: 0 }, conflicts: [], skipped: [], rejected: [], contexts: {}, history: { imported: 0, known: 0, uncatalogued: 0 } };
  const mappingsDir = path.join(options.fileCache, 'mappings', observatory);
  const referencesDir = path.join(options.fileCache, 'references', observatory);
  fs.mkdirSync(mappingsDir, { recursive: true });
  fs.mkdirSync(referencesDir, { recursive: true });

  const sources = {
    mapping: listFiles(path.join(options.source, 'mappings', observatory)).filter((f) => isMappingName(f) && path.basename(f).startsWith(observatory)),
    reference: listFiles(path.join(options.source, 'references', observatory)),
  };
  const catalogued = new Map<string, Pick<CatalogFileRow, 'name' | 'sha1sum'>>();
  for (const row of await db.models.CatalogFile.findAll({ attributes: ['name', 'sha1sum'] })) catalogued.set(row.name, row);

  // 1. Place every file in the server's cache (copy unless it is the same folder) and hash it.
  const placed: { kind: 'mapping' | 'reference'; name: string; file: string; size: number; sha1: string }[] = [];
  for (const kind of ['mapping', 'reference'] as const) {
    const targetDir = kind === 'mapping' ? mappingsDir : referencesDir;
    for (const src of sources[kind]) {
      const name = path.basename(src);
      if (!FILE_NAME_RE.test(name)) {
        report.skipped.push({ name, reason: 'not a valid CRDS file name' });
        continue;
      }
      const target = path.join(targetDir, name);
      const sha1 = await sha1sum(src);
      const known = catalogued.get(name);
      if (known) {
        if (known.sha1sum !== sha1) report.conflicts.push(name);
        else report[`${kind}s`].known++;
        if (known.sha1sum === sha1 && !fs.existsSync(target)) fs.copyFileSync(src, target, fs.constants.COPYFILE_FICLONE);
        continue;
      }
      if (path.resolve(src) !== path.resolve(target)) {
        if (fs.existsSync(target) && (await sha1sum(target)) !== sha1) {
          report.conflicts.push(name);
          continue;
        }
        fs.copyFileSync(src, target, fs.constants.COPYFILE_FICLONE);
      }
      placed.push({ kind, name, file: target, size: fs.statSync(target).size, sha1 });
    }
  }

  // 2. Describe them: mappings from their names and headers, references from the rules that name them.
  const store = new MappingStore(mappingsDir, { ignoreChecksum: 'warn' });
  const allMappings = listFiles(mappingsDir).map((f) => path.basename(f)).filter(isMappingName);
  const pmaps = allMappings.filter((n) => contextSerial(n) >= 0).sort((a, b) => contextSerial(a) - contextSerial(b));
  const newest = pmaps[pmaps.length - 1];
  const rmaps = allMappings.filter((n) => n.endsWith('.rmap'));
  const newReferences = new Set(placed.filter((p) => p.kind === 'reference').map((p) => p.name));
  const owners = newReferences.size ? referenceOwners(store, newest, rmaps, newReferences) : new Map();
  const rows: NewFile[] = [];
  for (const p of placed) {
    const common = {
      name: p.name,
      state: 'archived',
      observatory,
      type: p.kind,
      sha1sum: p.sha1,
      size: p.size,
      deliveryDate: now,
      activationDate: NEVER_ACTIVATED,
      delivererUser: username,
      creatorName: username,
      description: options.description ?? 'mass import',
      uploadedAs: p.name,
    };
    if (p.kind === 'mapping') {
      let mapping: Mapping;
      try {
        mapping = store.load(p.name);
      } catch (exc) {
        report.skipped.push({ name: p.name, reason: (exc as Error).message });
        continue;
      }
      let instrument = mapping.kind === 'pmap' ? '' : mapping.instrument.toLowerCase();
      let filekind = mapping.kind === 'rmap' ? mapping.filekind.toLowerCase() : '';
      try {
        const parts = decomposeNewstyleName(p.name);
        instrument ||= parts.instrument;
        filekind ||= parts.filekind;
      } catch {
        /* the header said it */
      }
      rows.push({
        ...common,
        instrument,
        filekind,
        derivedFrom: mapping.derivedFrom.slice(0, 255),
        useafterDate: NO_USEAFTER,
        comment: typeof mapping.get('description') === 'string' ? String(mapping.get('description')) : null,
        pedigree: '',
      });
    } else {
      // FITS, ASDF, JSON or YAML: the keywords under either vocabulary (INSTRUME or META.INSTRUMENT.NAME).
      const keywords = referenceKeywordsOrEmpty(p.file);
      const owner = owners.get(p.name);
      let instrument = owner?.instrument ?? '';
      let filekind = owner?.filekind ?? '';
      if (!owner) {
        try {
          const parts = decomposeNewstyleName(p.name);
          if (parts.observatory === observatory) ({ instrument, filekind } = parts);
        } catch {
          ({ instrument, filekind } = headerKind(p.file, keywords, observatory, options.specsDir));
        }
      }
      rows.push({
        ...common,
        // Free text from a header may be longer than the columns: cut, never refused.
        instrument: instrument.toLowerCase().slice(0, 32),
        filekind: filekind.toLowerCase().slice(0, 32),
        useafterDate: useafterOf(keywords.useafter),
        pedigree: (keywords.pedigree ?? '').slice(0, 255),
        // The type as CRDS knows it; a header's free-text FILETYPE only when the rules do not say.
        referenceFileType: (filekind || keywords.reftype || '').toLowerCase().slice(0, 32),
        comment: keywords.description ?? null,
        aperture: (keywords.aperture ?? 'none').slice(0, 255),
      });
    }
  }

  // 3. Catalogue them, with one audit record each, in one transaction.
  await db.sequelize.transaction(async (transaction) => {
    for (let i = 0; i < rows.length; i += 500) {
      await db.models.CatalogFile.bulkCreate(rows.slice(i, i + 500), { transaction });
      await db.models.AuditRecord.bulkCreate(
        rows.slice(i, i + 500).map((r) => ({
          date: now,
          username,
          action: 'mass import',
          filename: r.name,
          observatory,
          instrument: r.instrument ?? '',
          filekind: r.filekind ?? '',
          why: options.description ?? `imported from ${options.source}`,
          details: { size: r.size, sha1sum: r.sha1sum },
        })),
        { transaction },
      );
    }
    if (rows.length) await bumpGeneration(db, transaction);
  });
  for (const r of rows) report[`${r.type}s` as 'mappings' | 'references'].added++;
  log(`catalogued ${report.mappings.added} new mappings (${report.mappings.known} known), ${report.references.added} new references (${report.references.known} known)`);

  // 4. Files the source site marked bad.
  const badFile = path.join(options.source, 'config', observatory, 'bad_files.txt');
  if (fs.existsSync(badFile)) {
    const listed = fs.readFileSync(badFile, 'utf8').split(/\s+/).filter(Boolean);
    const toReject = (await db.models.CatalogFile.findAll({ attributes: ['name'], where: { name: listed, rejected: false } })).map((r) => r.name);
    if (toReject.length) {
      try {
        await markFilesBad(db, { names: toReject, bad: true, reason: `listed in ${badFile}`, username, mappingsDir });
        report.rejected = toReject.sort();
        log(`marked bad: ${report.rejected.join(', ')}`);
      } catch (exc) {
        if (!(exc instanceof CatalogError)) throw exc;
        for (const name of toReject) report.skipped.push({ name, reason: `not marked bad: ${exc.message}` });
      }
    }
  }

  // 5. The source site's context history and default contexts (config/<obs>/server_config).
  const site = options.siteConfig === false ? undefined : readServerConfig(path.join(options.source, 'config', observatory, 'server_config'));
  if (site) {
    report.history = await importContextHistory(db, site.history, { username, observatory });
    log(`context history: ${report.history.imported} entries imported, ${report.history.known} known, ${report.history.uncatalogued} of uncatalogued contexts left out`);
  }

  // 6. Default contexts: as asked, else keep what is set, else the site's, else the newest context.
  const current = await defaultContexts(db);
  const wanted: Partial<Record<ContextState, string>> = { ...options.contexts };
  const catalogedContext = async (name: string | undefined) =>
    name && (await db.models.CatalogFile.count({ where: { name, type: 'mapping' } })) ? name : undefined;
  for (const state of ['latest', 'edit', 'versions'] as const) {
    wanted[state] ??= current[state] || (await catalogedContext(site?.contexts[state])) || (state === 'versions' ? undefined : newest);
  }
  for (const [state, context] of Object.entries(wanted) as [ContextState, string | undefined][]) {
    if (!context) continue;
    const changed = await setDefaultContext(db, {
      state,
      context,
      username,
      description: options.description ?? `set by ${username}`,
      mappingsDir,
      date: now,
    });
    report.contexts[state] = { context, changed };
    if (changed) log(`${state} context: ${context}`);
  }
  return report;
}

/** Names catalogued but absent from the file cache (a quick consistency check for tests and ops). */
export async function missingFromCache(db: Database, fileCache: string, observatory: string): Promise<string[]> {
  const rows = await db.models.CatalogFile.findAll({ attributes: ['name', 'type'], where: { observatory, state: { [Op.ne]: 'uploaded' } } });
  return rows
    .filter((r) => !fs.existsSync(path.join(fileCache, r.type === 'mapping' ? 'mappings' : 'references', observatory, r.name)))
    .map((r) => r.name);
}
