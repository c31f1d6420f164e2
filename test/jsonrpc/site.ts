// A whole site for integration tests: a fresh MariaDB database (or SQLite), a temporary
// file cache filled by the real import from a CRDS cache folder, and the real web app
// listening on a free port. Also helpers to call JSON-RPC and to run the real `crds` client.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import type { Server } from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig, type Config, type Observatory } from '../../config';
import { openDatabase, type Database } from '../../db';
import { importCache, type ImportReport } from '../../db/catalog-import';
import type { ContextState } from '../../db/catalog';
import { createWebServer, type AppDeps } from '../../web/app';
import { TemporalLink } from '../../web/temporal';
import { CRDS_PYTHON, REPO_ROOT, SHARED_DATA } from '../support/paths';
import { freePorts } from '../support/ports';
import { freshMysqlDatabase, freshSqliteDatabase, type TestDatabase } from '../support/services';

export const REAL_CACHE = path.join(SHARED_DATA, 'crds-cache');
export const DEMO_CACHE = path.join(REPO_ROOT, 'config', 'demo', 'cache');
export const CRDS_CLI = path.join(path.dirname(CRDS_PYTHON), 'crds');

export interface SiteOptions {
  observatory: Observatory;
  /** CRDS cache folder to import; none: an empty catalog. */
  source?: string;
  contexts?: Partial<Record<ContextState, string>>;
  dialect?: 'mysql' | 'sqlite';
  /** The import's date (context history, delivery dates). */
  date?: Date;
  /** More configuration (CRDS_MAX_UPLOAD_BYTES, ...). */
  env?: Record<string, string>;
  /** More of the app's dependencies (startSubmission, ...). */
  app?: Pick<AppDeps, 'startSubmission' | 'secretKey' | 'submissions' | 'bodyBudget'>;
}

export interface Envelope {
  id: unknown;
  result: unknown;
  error: null | { name: string; code: number; message: string; data: null };
}

export interface Site {
  url: string;
  server: Server;
  config: Config;
  db: Database;
  work: string;
  fileCache: string;
  report?: ImportReport;
  rpc<T = unknown>(method: string, ...params: unknown[]): Promise<T>;
  /** The whole response envelope, for error tests. */
  rpcEnvelope(method: string, params: unknown): Promise<Envelope>;
  close(): Promise<void>;
}

export async function startSite(options: SiteOptions): Promise<Site> {
  const target: TestDatabase = options.dialect === 'sqlite' ? freshSqliteDatabase() : await freshMysqlDatabase(`site_${options.observatory}`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-site-'));
  const fileCache = path.join(work, 'file_cache');
  const [port] = await freePorts(1);
  const config = loadConfig({
    CRDS_OBSERVATORY: options.observatory,
    CRDS_USECASE: 'test',
    CRDS_DATABASE_URL: target.url,
    TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:1',
    CRDS_FILE_CACHE: fileCache,
    CRDS_SERVER_FILES: path.join(work, 'server_files'),
    PORT: String(port),
    CRDS_SITE_URL: `http://127.0.0.1:${port}`,
    ...options.env,
  });
  const db = await openDatabase(config.databaseUrl);
  let report: ImportReport | undefined;
  if (options.source) {
    report = await importCache(db, { source: options.source, fileCache, observatory: options.observatory, contexts: options.contexts, date: options.date });
  }
  const temporal = new TemporalLink(config.temporal.address, config.temporal.namespace);
  const server: Server = createWebServer({ config, db, temporal, catalogRefreshMs: 0, ...options.app }).listen(port, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${port}`;
  let counter = 0;
  const rpcEnvelope = async (method: string, params: unknown): Promise<Envelope> => {
    const res = await fetch(`${url}/json/${method}/test-${++counter}/`, {
      method: 'POST',
      body: JSON.stringify({ jsonrpc: '1.0', method, params, id: `test-${counter}` }),
    });
    if (res.status !== 200) throw new Error(`HTTP ${res.status} from ${method}`);
    return (await res.json()) as Envelope;
  };
  return {
    url,
    server,
    config,
    db,
    work,
    fileCache,
    report,
    rpcEnvelope,
    async rpc<T>(method: string, ...params: unknown[]): Promise<T> {
      const reply = await rpcEnvelope(method, params);
      if (reply.error) throw new Error(reply.error.message);
      return reply.result as T;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await temporal.close();
      await db.close();
      await target.drop();
      fs.rmSync(work, { recursive: true, force: true });
    },
  };
}

export interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion, capturing its output. */
export function run(command: string, args: string[], env: Record<string, string>, input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    // The client reads many CRDS_* variables: only the ones given here may reach it.
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CRDS_')));
    const child = spawn(command, args, { env: { ...inherited, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** The environment the real client needs to talk to `site` with its cache in `cache`. */
export function clientEnv(site: Site, cache: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    CRDS_PATH: cache,
    CRDS_SERVER_URL: site.url,
    CRDS_OBSERVATORY: site.config.observatory,
    CRDS_MODE: 'auto',
    ...extra,
  };
}

/** The real `crds` command line client. */
export function crds(site: Site, cache: string, args: string[], extra: Record<string, string> = {}): Promise<Run> {
  return run(CRDS_CLI, args, clientEnv(site, cache, extra));
}
