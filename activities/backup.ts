// Backups and restores of a whole site (the original's nightly backup and restore_server).
// A backup is a folder <server files>/backups/<name>/ holding a consistent database dump, the
// mappings, the catalogs and deliveries folders and the site's configuration, with a manifest
// of every file's size and sha1. References are not copied (immutable and catalogued): the
// manifest lists them with their catalogued sha1. The backup is written in .<name>.partial and
// renamed when complete; only then does the `latest` link move to it.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../config';
import type { Database, Dialect } from '../db';
import { bumpGenerationPast, catalogGeneration } from '../db/catalog';
import { ForeignDumpError, loadForeignDump } from '../db/portable-load';
import { dumpDatabase, dumpFileName, loadDatabase } from '../db/dump';
import { redact } from '../config';
import { copyHashed, digestFile, matches, parentMaker, placeVerified, walkFiles, writeJsonAtomic, type FileDigest } from './ops-files';

export interface ManifestEntry extends FileDigest {
  /** Relative to the backup: file_cache/…, server_files/…, config/…, or the dump. */
  path: string;
}

export interface BackupManifest {
  format: 1;
  name: string;
  createdAt: string;
  observatory: string;
  dialect: Dialect;
  database: ManifestEntry;
  /** Copied into the backup. */
  files: ManifestEntry[];
  /** Not copied: file_cache/references/<obs>/<name> with the catalog's size and sha1. */
  references: ManifestEntry[];
  /** Bytes copied (dump included). */
  bytes: number;
  seconds: number;
}

export interface BackupSummary {
  name: string;
  dir: string;
  bytes: number;
  files: number;
  references: number;
  seconds: number;
  pruned: string[];
}

export const MANIFEST = 'manifest.json';
export const LATEST = 'latest';

export const backupsDir = (config: Config): string => path.join(config.serverFiles, 'backups');

/** A backup name: a date and time (UTC), sortable, safe in a path. */
export const backupName = (at: Date): string => at.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
const BACKUP_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The folders a backup copies: where they live on the site, and their name in the backup. */
export function backedUpFolders(config: Config): { live: string; as: string }[] {
  return [
    { live: path.join(config.fileCache, 'mappings', config.observatory), as: `file_cache/mappings/${config.observatory}` },
    { live: path.join(config.serverFiles, 'catalogs'), as: 'server_files/catalogs' },
    { live: path.join(config.serverFiles, 'deliveries'), as: 'server_files/deliveries' },
  ];
}

/** Where a manifest path lives on this site (the dump and config/ are not restored as files). */
export function livePath(config: Config, relative: string): string | undefined {
  const [root, ...rest] = relative.split('/');
  if (rest.some((p) => p === '..' || p === '' || p === '.')) return undefined;
  if (root === 'file_cache') return path.join(config.fileCache, ...rest);
  if (root === 'server_files') return path.join(config.serverFiles, ...rest);
  return undefined;
}

/** The site's configuration without secrets, recorded in each backup. */
function siteConfig(config: Config): Record<string, unknown> {
  return {
    observatory: config.observatory,
    usecase: config.usecase,
    database: redact(config.databaseUrl),
    temporal: config.temporal,
    serverFiles: config.serverFiles,
    fileCache: config.fileCache,
    siteUrl: config.siteUrl,
    ops: { ...config.ops, mirrorToken: config.ops.mirrorToken ? '***' : undefined },
  };
}

export function readManifest(dir: string): BackupManifest {
  const file = path.join(dir, MANIFEST);
  if (!fs.existsSync(file)) throw ApplicationFailure.nonRetryable(`${dir} is not a complete backup: it has no ${MANIFEST}`, 'BackupNotFound');
  return JSON.parse(fs.readFileSync(file, 'utf8')) as BackupManifest;
}

/** Complete backups, newest first (a name sorts by its date). */
export function listBackups(config: Config): { name: string; dir: string; manifest: BackupManifest }[] {
  const root = backupsDir(config);
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .filter((n) => n !== LATEST && !n.startsWith('.') && fs.existsSync(path.join(root, n, MANIFEST)))
    .sort()
    .reverse()
    .map((name) => ({ name, dir: path.join(root, name), manifest: readManifest(path.join(root, name)) }));
}

/** The backup a name (or `latest`, or a folder path) designates. */
export function resolveBackup(config: Config, which?: string): string {
  const root = backupsDir(config);
  if (!which || which === LATEST) {
    const link = path.join(root, LATEST);
    if (!fs.existsSync(link)) throw ApplicationFailure.nonRetryable(`no backup yet: ${link} does not exist`, 'BackupNotFound');
    return path.join(root, fs.readlinkSync(link));
  }
  if (which.includes('/')) return path.resolve(which);
  if (!BACKUP_NAME_RE.test(which)) throw ApplicationFailure.nonRetryable(`${JSON.stringify(which)} is not a backup name`, 'BackupNotFound');
  return path.join(root, which);
}

/** Points `latest` at `name` with one rename: never at a half-written backup. */
function moveLatest(root: string, name: string): void {
  const tmp = path.join(root, `.${LATEST}.tmp`);
  fs.rmSync(tmp, { force: true });
  fs.symlinkSync(name, tmp);
  fs.renameSync(tmp, path.join(root, LATEST));
}

/** Removes complete backups beyond the newest `keep` (never the latest), and partial ones a day old. */
export function pruneBackups(config: Config, keep: number): string[] {
  const root = backupsDir(config);
  if (!fs.existsSync(root)) return [];
  const latest = fs.existsSync(path.join(root, LATEST)) ? fs.readlinkSync(path.join(root, LATEST)) : undefined;
  const removed: string[] = [];
  for (const b of listBackups(config).slice(keep)) {
    if (b.name === latest) continue;
    fs.rmSync(b.dir, { recursive: true, force: true });
    removed.push(b.name);
  }
  for (const n of fs.readdirSync(root)) {
    const p = path.join(root, n);
    if (n.endsWith('.partial') && Date.now() - fs.statSync(p).mtimeMs > 24 * 3600_000) {
      fs.rmSync(p, { recursive: true, force: true });
      removed.push(n);
    }
  }
  return removed;
}

function heartbeat(details: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    /* outside an activity (bench, tests) */
  }
}

/**
 * Writes backup `name` (idempotent: a complete backup of that name is reported as is).
 * The dump is taken first: files only ever appear before their catalog rows, so every row of
 * the dump finds its file in the copy.
 */
export async function createBackup(db: Database, config: Config, name: string): Promise<BackupSummary> {
  if (!BACKUP_NAME_RE.test(name)) throw ApplicationFailure.nonRetryable(`${JSON.stringify(name)} is not a backup name`, 'BadBackupName');
  const started = Date.now();
  const root = backupsDir(config);
  const dir = path.join(root, name);
  const summary = (m: BackupManifest, pruned: string[]): BackupSummary => ({
    name,
    dir,
    bytes: m.bytes,
    files: m.files.length,
    references: m.references.length,
    seconds: m.seconds,
    pruned,
  });
  if (fs.existsSync(path.join(dir, MANIFEST))) return summary(readManifest(dir), []);
  const partial = path.join(root, `.${name}.partial`);
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(partial, { recursive: true });

  const dumpPath = dumpFileName(db.dialect);
  // The dump runs in its own process (or SQLite's backup thread) while the folders are copied.
  const dumping = dumpDatabase(config.databaseUrl, db.dialect, path.join(partial, dumpPath));
  dumping.catch(() => undefined); // awaited below, after the copy (or on its failure)
  let bytes = 0;
  const files: ManifestEntry[] = [];
  const makeParent = parentMaker();
  try {
    await copyFolders();
  } finally {
    await dumping;
  }
  const database = { path: dumpPath, ...(await digestFile(path.join(partial, dumpPath))) };
  bytes += database.size;
  async function copyFolders(): Promise<void> {
    for (const folder of backedUpFolders(config)) {
      for (const rel of walkFiles(folder.live, (r) => r.startsWith('.'))) {
        const as = `${folder.as}/${rel}`;
        let digest: FileDigest;
        try {
          digest = await copyHashed(path.join(folder.live, rel), path.join(partial, as), makeParent);
        } catch (err) {
          // A staged delivery renamed away while copying: the next backup has it.
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw err;
        }
        files.push({ path: as, ...digest });
        bytes += digest.size;
        if (files.length % 200 === 0) heartbeat({ files: files.length, bytes });
      }
    }
  }
  const configEntry = 'config/site.json';
  writeJsonAtomic(path.join(partial, configEntry), siteConfig(config));
  files.push({ path: configEntry, ...(await digestFile(path.join(partial, configEntry))) });

  const refs = await db.models.CatalogFile.findAll({ attributes: ['name', 'size', 'sha1sum'], where: { type: 'reference', observatory: config.observatory }, order: [['name', 'ASC']] });
  const references = refs.map((r) => ({ path: `file_cache/references/${config.observatory}/${r.name}`, size: r.size, sha1: r.sha1sum }));
  const manifest: BackupManifest = {
    format: 1,
    name,
    createdAt: new Date(started).toISOString(),
    observatory: config.observatory,
    dialect: db.dialect,
    database,
    files,
    references,
    bytes,
    seconds: (Date.now() - started) / 1000,
  };
  writeJsonAtomic(path.join(partial, MANIFEST), manifest);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(partial, dir);
  moveLatest(root, name);
  return summary(manifest, pruneBackups(config, config.ops.backupKeep));
}

export interface RestoreFilesResult {
  /** Files written from the backup (or the references folder). */
  restored: number;
  /** Files already in place with the right bytes. */
  verified: number;
  /** References neither in place nor found in the references folder. */
  missing: string[];
  /** Files that could not be made to match the manifest, with why. */
  failed: { path: string; reason: string }[];
  bytes: number;
}

/** Loads the backup's dump into the site's database, after checking it against the manifest. */
export async function restoreDatabase(db: Database, config: Config, dir: string): Promise<{ bytes: number }> {
  const manifest = readManifest(dir);
  if (manifest.observatory !== config.observatory) {
    throw ApplicationFailure.nonRetryable(`backup ${manifest.name} is of ${manifest.observatory}; this site serves ${config.observatory}`, 'ObservatoryMismatch');
  }
  const dump = path.join(dir, manifest.database.path);
  if (!(await matches(dump, manifest.database))) throw ApplicationFailure.nonRetryable(`the dump ${dump} does not match its manifest entry`, 'CorruptBackup');
  const before = await catalogGeneration(db);
  if (manifest.dialect === db.dialect) await loadDatabase(config.databaseUrl, db.dialect, dump);
  else {
    // The other dialect's dump (a dev site on SQLite mirroring ops on MariaDB): row by row.
    try {
      await loadForeignDump(db, dump, manifest.dialect);
    } catch (err) {
      if (err instanceof ForeignDumpError) throw ApplicationFailure.nonRetryable(`backup ${manifest.name} (${manifest.dialect}): ${err.message}`, 'ForeignDump');
      throw err;
    }
  }
  // Every web process reloads its view of the catalog, whatever generation the dump held.
  await bumpGenerationPast(db, before);
  return { bytes: manifest.database.size };
}

/** Where a reference may be found in a folder given to a restore: flat, or as a CRDS cache. */
function referenceSource(folder: string, observatory: string, name: string): string | undefined {
  for (const p of [path.join(folder, name), path.join(folder, 'references', observatory, name)]) if (fs.existsSync(p)) return p;
  return undefined;
}

/**
 * Puts every file of the backup in place and verifies it against the manifest: copied files
 * from the backup, references from where they are (or from `referencesFrom`). Idempotent.
 */
export async function restoreFiles(config: Config, dir: string, referencesFrom?: string): Promise<RestoreFilesResult> {
  const manifest = readManifest(dir);
  const out: RestoreFilesResult = { restored: 0, verified: 0, missing: [], failed: [], bytes: 0 };
  let seen = 0;
  const makeParent = parentMaker();
  const tick = () => ++seen % 200 === 0 && heartbeat({ seen, restored: out.restored });
  for (const entry of manifest.files) {
    const target = livePath(config, entry.path);
    if (!target) continue; // the dump and config/ are not site files
    tick();
    if (await matches(target, entry)) {
      out.verified++;
      continue;
    }
    try {
      await placeVerified(path.join(dir, entry.path), target, entry, false, makeParent);
      out.restored++;
      out.bytes += entry.size;
    } catch (err) {
      out.failed.push({ path: entry.path, reason: (err as Error).message });
    }
  }
  for (const entry of manifest.references) {
    const target = livePath(config, entry.path)!;
    tick();
    if (await matches(target, entry)) {
      out.verified++;
      continue;
    }
    const name = path.basename(entry.path);
    const source = referencesFrom ? referenceSource(referencesFrom, manifest.observatory, name) : undefined;
    if (!source) {
      if (fs.existsSync(target)) out.failed.push({ path: entry.path, reason: 'in place with other bytes than catalogued, and no good copy given (--references)' });
      else out.missing.push(name);
      continue;
    }
    try {
      await placeVerified(source, target, entry, true, makeParent);
      out.restored++;
      out.bytes += entry.size;
    } catch (err) {
      out.failed.push({ path: entry.path, reason: (err as Error).message });
    }
  }
  return out;
}

/**
 * Files in the restored folders that the backup does not list (the site's files that
 * appeared after the backup, or strays): listed, and moved to <server files>/orphans/<name>/
 * only when `prune`.
 */
export function restoreOrphans(config: Config, dir: string, prune: boolean): { orphans: string[]; movedTo?: string } {
  const manifest = readManifest(dir);
  const listed = new Set([...manifest.files, ...manifest.references].map((e) => e.path));
  const folders = [
    ...backedUpFolders(config),
    { live: path.join(config.fileCache, 'references', config.observatory), as: `file_cache/references/${config.observatory}` },
  ];
  const orphans: string[] = [];
  for (const f of folders) for (const rel of walkFiles(f.live, (r) => r.startsWith('.'))) if (!listed.has(`${f.as}/${rel}`)) orphans.push(`${f.as}/${rel}`);
  if (!prune || !orphans.length) return { orphans };
  const movedTo = path.join(config.serverFiles, 'orphans', manifest.name);
  for (const o of orphans) {
    const to = path.join(movedTo, o);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.renameSync(livePath(config, o)!, to);
  }
  return { orphans, movedTo };
}

export function createBackupActivities(deps: { db: Database; config: Config }) {
  const { db, config } = deps;
  return {
    /** The nightly (or ops/backup) backup; idempotent by name. */
    async backupSite(input: { name: string }): Promise<BackupSummary> {
      return createBackup(db, config, input.name);
    },
    /** Which backup a restore uses (a name, `latest` or a folder), resolved once for the whole workflow. */
    async resolveBackupDir(input: { backup?: string }): Promise<{ dir: string; name: string; files: number; references: number; bytes: number }> {
      const named = resolveBackup(config, input.backup);
      const m = readManifest(named);
      const dir = fs.realpathSync(named);
      return { dir, name: m.name, files: m.files.length, references: m.references.length, bytes: m.bytes };
    },
    async restoreDatabase(input: { dir: string }): Promise<{ bytes: number }> {
      return restoreDatabase(db, config, input.dir);
    },
    async restoreFiles(input: { dir: string; referencesFrom?: string }): Promise<RestoreFilesResult> {
      return restoreFiles(config, input.dir, input.referencesFrom);
    },
    async restoreOrphans(input: { dir: string; prune: boolean }): Promise<{ orphans: string[]; movedTo?: string }> {
      return restoreOrphans(config, input.dir, input.prune);
    },
  };
}

export type BackupActivities = ReturnType<typeof createBackupActivities>;
