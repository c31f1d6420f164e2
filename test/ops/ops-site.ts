// Sites for the operations tests: a real database (MariaDB or SQLite), folders of its own, the
// real web app on a free port, a Temporal namespace and task queue of its own and a worker
// (in this process, or the real worker process that tests kill). A subset of the real HST
// rules (the closures of two contexts) keeps imports short; bench/backup uses them all.
import * as fs from 'node:fs';
import type { Server } from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig, type Config } from '../../config';
import { openDatabase, type Database } from '../../db';
import { importCache } from '../../db/catalog-import';
import { contextClosure } from '../../db/catalog';
import { createActivities } from '../../activities';
import { createWebServer } from '../../web/app';
import { TemporalLink } from '../../web/temporal';
import { digestFile, walkFiles } from '../../activities/ops-files';
import { REAL_CACHE } from '../jsonrpc/site';
import { SHARED_DATA } from '../support/paths';
import { freePorts } from '../support/ports';
import { startProcess, stopProcess, type Started } from '../support/processes';
import { freshMysqlDatabase, freshNamespace, freshSqliteDatabase, temporalAddress, uniqueName, type TestDatabase } from '../support/services';

export const SECRET = 'ops-test-secret-key-0123456789abcdef';
export const CONTEXTS = ['hst_0728.pmap', 'hst_0729.pmap'];

/** A CRDS cache folder holding the closures of `contexts`, the real references and config/hst. */
export function subsetCache(contexts = CONTEXTS): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-subset-'));
  const from = path.join(REAL_CACHE, 'mappings', 'hst');
  fs.mkdirSync(path.join(dir, 'mappings', 'hst'), { recursive: true });
  const names = new Set<string>();
  for (const c of contexts) for (const n of contextClosure(from, c)) if (/\.[pir]map$/.test(n)) names.add(n);
  // The rmaps naming the real references, so the import catalogues them under their types.
  const references = fs.readdirSync(path.join(REAL_CACHE, 'references', 'hst'));
  for (const n of fs.readdirSync(from).filter((f) => f.endsWith('.rmap'))) {
    const text = fs.readFileSync(path.join(from, n), 'latin1');
    if (references.some((r) => text.includes(r))) names.add(n);
  }
  for (const n of names) fs.copyFileSync(path.join(from, n), path.join(dir, 'mappings', 'hst', n));
  fs.cpSync(path.join(REAL_CACHE, 'references', 'hst'), path.join(dir, 'references', 'hst'), { recursive: true });
  fs.cpSync(path.join(REAL_CACHE, 'config', 'hst'), path.join(dir, 'config', 'hst'), { recursive: true });
  return dir;
}

export interface OpsSite {
  config: Config;
  env: Record<string, string>;
  db: Database;
  url: string;
  work: string;
  client: Client;
  namespace: string;
  /** The worker process, when started as one. */
  workerProcess?: Started;
  startWorkerProcess(extraEnv?: Record<string, string>): Promise<Started>;
  close(): Promise<void>;
}

export interface OpsSiteOptions {
  dialect?: 'mysql' | 'sqlite';
  /** CRDS cache folder imported; none: an empty site. */
  source?: string;
  env?: Record<string, string>;
  /** 'in-process' (default), 'process' (workers/main.ts, which also creates the schedules) or 'none'. */
  worker?: 'in-process' | 'process' | 'none';
}

export async function startOpsSite(prefix: string, options: OpsSiteOptions = {}): Promise<OpsSite> {
  const target: TestDatabase = options.dialect === 'sqlite' ? freshSqliteDatabase() : await freshMysqlDatabase(prefix);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `crds-${prefix}-`));
  const [port] = await freePorts(1);
  const url = `http://127.0.0.1:${port}`;
  const namespace = await freshNamespace(prefix);
  const env: Record<string, string> = {
    CRDS_OBSERVATORY: 'hst',
    CRDS_USECASE: 'test',
    CRDS_DATABASE_URL: target.url,
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_NAMESPACE: namespace,
    CRDS_TASK_QUEUE: uniqueName(prefix),
    CRDS_FILE_CACHE: path.join(work, 'file_cache'),
    CRDS_SERVER_FILES: path.join(work, 'server_files'),
    CRDS_SPECS_DIR: path.join(SHARED_DATA, 'crds-specs'),
    CRDS_SECRET_KEY: SECRET,
    PORT: String(port),
    CRDS_SITE_URL: url,
    ...options.env,
  };
  const config = loadConfig(env);
  const db = await openDatabase(config.databaseUrl);
  if (options.source) await importCache(db, { source: options.source, fileCache: config.fileCache, observatory: 'hst', contexts: { latest: CONTEXTS[1], edit: CONTEXTS[1] } });
  const link = new TemporalLink(config.temporal.address, namespace);
  const server: Server = createWebServer({ config, db, temporal: link, catalogRefreshMs: 0, secretKey: SECRET }).listen(port!, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace });

  let inProcess: { close(): Promise<void> } | undefined;
  const site: OpsSite = {
    config,
    env,
    db,
    url,
    work,
    client,
    namespace,
    async startWorkerProcess(extraEnv = {}) {
      site.workerProcess = await startProcess('workers/main.ts', { ...env, ...extraEnv }, /Worker state changed[\s\S]*RUNNING/, 240_000);
      return site.workerProcess;
    },
    async close() {
      await stopProcess(site.workerProcess);
      await inProcess?.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await link.close();
      await connection.close();
      await db.close();
      await target.drop();
      fs.rmSync(work, { recursive: true, force: true });
    },
  };
  try {
    if ((options.worker ?? 'in-process') === 'in-process') inProcess = await inProcessWorker(config, db);
    else if (options.worker === 'process') await site.startWorkerProcess();
  } catch (err) {
    await site.close();
    throw err;
  }
  return site;
}

async function inProcessWorker(config: Config, db: Database): Promise<{ close(): Promise<void> }> {
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities: createActivities({ db, config, specsRoot: config.specsDir ?? '' }),
  });
  const running = worker.run();
  return {
    async close() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

/** Every table's rows in primary-key order, as JSON-ready values (the catalog generation counter left out). */
export async function tableRows(db: Database): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  const tables = (await db.sequelize.getQueryInterface().showAllTables()).map((t) => (typeof t === 'string' ? t : (t as { tableName: string }).tableName)).sort();
  for (const t of tables) {
    if (t === 'SequelizeMeta') continue;
    const [rows] = await db.sequelize.query(`SELECT * FROM ${db.dialect === 'mysql' ? `\`${t}\`` : `"${t}"`} ORDER BY 1`);
    out[t] = (rows as Record<string, unknown>[]).filter((r) => r.name !== 'catalog_generation').map((r) => JSON.parse(JSON.stringify(r)));
  }
  return out;
}

/**
 * Rows comparable across dialects: dates to the second (MariaDB's plain DATETIME keeps no
 * fraction), each table's rows in one order (the dialects collate text keys differently).
 */
export function crossDialectRows(tables: Record<string, unknown[]>): Record<string, string[]> {
  const date = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:\.\d+)?(?: ?(Z|[+-]\d\d:\d\d))?$/;
  const norm = (v: unknown): unknown => {
    const m = typeof v === 'string' ? date.exec(v) : null;
    return m ? new Date(`${m[1]}T${m[2]}${m[3] ?? 'Z'}`).toISOString().slice(0, 19) : v;
  };
  return Object.fromEntries(
    Object.entries(tables).map(([t, rows]) => [t, rows.map((r) => JSON.stringify(Object.entries(r as object).map(([k, v]) => [k, norm(v)]).sort())).sort()]),
  );
}

/** sha1 of every file of the site's mappings, references, catalogs and deliveries, by relative path. */
export async function siteFiles(config: Config): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const roots: [string, string][] = [
    ['file_cache', config.fileCache],
    ['catalogs', path.join(config.serverFiles, 'catalogs')],
    ['deliveries', path.join(config.serverFiles, 'deliveries')],
  ];
  for (const [label, root] of roots) for (const rel of walkFiles(root)) out[`${label}/${rel}`] = (await digestFile(path.join(root, rel))).sha1;
  return out;
}
