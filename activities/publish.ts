// Cache publishing (the original's sync_ops_to_grp, crds-protocol.md §8.3): the site's
// available files copied into a read-only CRDS cache folder (CRDS_PUBLISH_DIR) that pipelines
// read with CRDS_READONLY_CACHE=1, laid out as the real client's cache: mappings/<obs>,
// references/<obs> (flat), config/<obs>/{server_config,bad_files.txt,ref_cache_subdir_mode}.
// Files go first, server_config last (the client's own order), so a reader never meets a
// context before its files; each file is written under a temporary name and renamed into place
// only once its size and sha1 match the catalog's. Only what changed is written.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Config } from '../config';
import type { Database } from '../db';
import { parsePyLiteral } from '../db/pyliteral';
import { CatalogView, RulesCache, type CatalogSnapshot, type FileEntry } from '../web/catalog-view';
import { methods } from '../web/jsonrpc/methods';
import { RawJson } from '../web/jsonrpc/raw-json';

export interface PublishDeps {
  db: Database;
  config: Config;
}

export interface PublishFilesResult {
  /** The catalog generation the files were taken from. */
  generation: number;
  copied: number;
  copiedBytes: number;
  /** Already published with the catalog's size: left alone. */
  unchanged: number;
  /** Files whose copy did not verify (name: why); the context check decides whether that blocks the config. */
  failed: Record<string, string>;
}

export interface PublishConfigResult {
  /** The operational context now in force in the published cache. */
  operationalContext: string;
  /** Config files rewritten (unchanged ones are not touched). */
  written: string[];
  /** Files of the operational or edit context's closure, available here, not yet published: nothing was written. */
  missing: string[];
}

/** Leftovers of an interrupted copy end with this; never a name the client looks for. */
const TEMP_SUFFIX = '.publishing';
/** Fields of the server info that change on every call: not a reason to rewrite server_config. */
const VOLATILE = ['last_synced', 'last_refreshed', 'updated'];
const COPY_CHUNK = 8 << 20;

/** A Python literal (as pprint.pformat writes the server info) that ast.literal_eval reads back. */
export function pyLiteral(value: unknown, indent = 0): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'None';
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}'`;
  const pad = ' '.repeat(indent + 1);
  if (Array.isArray(value)) return `[${value.map((v) => pyLiteral(v, indent + 1)).join(`,\n${pad}`)}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${pyLiteral(k)}: ${pyLiteral(v, indent + 1 + pyLiteral(k).length + 2)}`).join(`,\n${pad}`)}}`;
  }
  throw new TypeError(`no Python literal for ${typeof value}`);
}

/** JSON with every object's keys sorted: equal for equal values whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

function heartbeat(details: unknown): void {
  // Outside a Temporal activity (ops commands, unit use) there is nobody to tell.
  try {
    Context.current().heartbeat(details);
  } catch {
    /* not in an activity */
  }
}

function cancelled(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

/** Writes `text` to `file` through a temporary file and a rename, unless it already holds exactly that. */
function writeIfChanged(file: string, text: string): boolean {
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text) return false;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}`)}${TEMP_SUFFIX}`;
  fs.writeFileSync(temp, text);
  fs.renameSync(temp, file);
  return true;
}

/**
 * Copies `src` to `dest` through a temporary file in dest's folder, hashing the bytes as they
 * are written; renamed into place only when size and sha1 match `expected`.
 */
async function copyVerified(src: string, dest: string, expected: FileEntry, progress: (bytes: number) => void): Promise<void> {
  const temp = path.join(path.dirname(dest), `.${path.basename(dest)}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`);
  const hash = createHash('sha1');
  let bytes = 0;
  const out = await fs.promises.open(temp, 'w');
  try {
    for await (const chunk of fs.createReadStream(src, { highWaterMark: COPY_CHUNK, signal: cancelled() })) {
      const buf = chunk as Buffer;
      hash.update(buf);
      await out.write(buf);
      progress((bytes += buf.length));
    }
    await out.sync();
  } catch (err) {
    await out.close();
    fs.rmSync(temp, { force: true });
    throw err;
  }
  await out.close();
  const sha1 = hash.digest('hex');
  if (bytes !== expected.size || sha1 !== expected.sha1sum) {
    fs.rmSync(temp, { force: true });
    throw new Error(`copied ${bytes} bytes with sha1 ${sha1}, the catalog has ${expected.size} bytes with sha1 ${expected.sha1sum}`);
  }
  fs.renameSync(temp, dest);
}

export function createPublishActivities(deps: PublishDeps) {
  const { db, config } = deps;
  const obs = config.observatory;

  const publishDir = (): string => {
    if (!config.publishDir) throw ApplicationFailure.nonRetryable('CRDS_PUBLISH_DIR is not set: nowhere to publish', 'PublishNotConfigured');
    return config.publishDir;
  };
  const folderOf = (root: string, type: FileEntry['type']) => path.join(root, type === 'mapping' ? 'mappings' : 'references', obs);
  const isPublished = (root: string, f: FileEntry): boolean => {
    try {
      return fs.statSync(path.join(folderOf(root, f.type), f.name)).size === f.size;
    } catch {
      return false;
    }
  };
  const available = (snap: CatalogSnapshot): FileEntry[] =>
    // Mappings before references; each kind by name: the order of a real sync.
    [...snap.files.values()].filter((f) => f.available).sort((a, b) => (a.type === b.type ? (a.name < b.name ? -1 : 1) : a.type === 'mapping' ? -1 : 1));

  return {
    /** Copies every available file the published cache lacks (or holds with another size); heartbeats per chunk. */
    async publishFiles(): Promise<PublishFilesResult> {
      const root = publishDir();
      const snap = await new CatalogView(db, 0).current();
      for (const type of ['mapping', 'reference'] as const) {
        const folder = folderOf(root, type);
        fs.mkdirSync(folder, { recursive: true });
        // Temporary files of an attempt that died (a killed worker): the schedule never runs two publishes at once.
        for (const name of fs.readdirSync(folder)) if (name.endsWith(TEMP_SUFFIX)) fs.rmSync(path.join(folder, name), { force: true });
      }
      const result: PublishFilesResult = { generation: snap.generation, copied: 0, copiedBytes: 0, unchanged: 0, failed: {} };
      const files = available(snap);
      for (const [i, f] of files.entries()) {
        if (isPublished(root, f)) {
          result.unchanged++;
          if (i && i % 1000 === 0) heartbeat({ checked: i, of: files.length });
          continue;
        }
        const src = path.join(folderOf(config.fileCache, f.type), f.name);
        try {
          heartbeat({ file: f.name, bytes: 0, size: f.size, copied: result.copied });
          await copyVerified(src, path.join(folderOf(root, f.type), f.name), f, (bytes) => heartbeat({ file: f.name, bytes, size: f.size, copied: result.copied }));
          result.copied++;
          result.copiedBytes += f.size;
        } catch (err) {
          if (cancelled()?.aborted) throw err;
          result.failed[f.name] = err instanceof Error ? err.message : String(err);
        }
      }
      return result;
    },

    /**
     * Writes ref_cache_subdir_mode, bad_files.txt and, last, server_config (the get_server_info
     * answer, as the client caches it), each only when changed, and only when every available
     * file of the operational and edit contexts is published; otherwise writes nothing and
     * names what is missing.
     */
    async publishConfig(): Promise<PublishConfigResult> {
      const root = publishDir();
      const view = new CatalogView(db, 60_000);
      const rules = new RulesCache(path.join(config.fileCache, 'mappings', obs));
      const snap = await view.current();
      // The JSON-RPC answer, serialized once per catalog snapshot (RawJson), as the client receives it.
      const answer = await methods({ config, db, view, rules }).get_server_info.run([]);
      const info = (answer instanceof RawJson ? JSON.parse(answer.json) : answer) as Record<string, unknown>;
      const contexts = [...new Set([info.operational_context, info.edit_context].filter((c): c is string => typeof c === 'string' && c !== ''))];
      const missing = new Set<string>();
      for (const context of contexts) {
        const mapping = rules.mapping(context);
        for (const name of [...mapping.mappingNames(), ...mapping.referenceNames()]) {
          const f = snap.files.get(name);
          if (f?.available && !isPublished(root, f)) missing.add(name);
        }
      }
      const operationalContext = String(info.operational_context ?? '');
      if (missing.size) return { operationalContext, written: [], missing: [...missing].sort() };

      const cfgDir = path.join(root, 'config', obs);
      const written: string[] = [];
      const write = (name: string, text: string) => writeIfChanged(path.join(cfgDir, name), text) && written.push(name);
      // The layout we publish; without it a client guesses from the number of references.
      write('ref_cache_subdir_mode', 'flat');
      write('bad_files.txt', snap.badFiles.join('\n'));
      const serverConfig = path.join(cfgDir, 'server_config');
      const stable = (d: Record<string, unknown>) => canonical(Object.fromEntries(Object.entries(d).filter(([k]) => !VOLATILE.includes(k))));
      let previous: Record<string, unknown> | undefined;
      try {
        previous = parsePyLiteral(fs.readFileSync(serverConfig, 'utf8'), serverConfig) as Record<string, unknown>;
      } catch {
        previous = undefined; // absent or unreadable: write it
      }
      if (!previous || stable(previous) !== stable(info)) write('server_config', pyLiteral(info));
      return { operationalContext, written, missing: [] };
    },
  };
}

export type PublishActivities = ReturnType<typeof createPublishActivities>;
