// A submission site for tests: a fresh MariaDB with the real HST (or JWST) rules imported,
// a file cache and server files in a temporary folder, a real SMTP receiver, a Temporal
// namespace and task queue of its own, and the web's submission service on a Temporal client;
// and the worker (in this process or as workers/main.ts) and web app the tests run on it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { loadConfig, type Config } from '../../config';
import { openDatabase, type Database } from '../../db';
import { importCache } from '../../db/catalog-import';
import { MappingStore } from '../../crds';
import { acquireLock } from '../../db/locks';
import { createUser, setGroup } from '../../db/accounts';
import { createWebServer } from '../../web/app';
import { createSubmissionService, type SubmissionService } from '../../web/submissions';
import { TemporalLink } from '../../web/temporal';
import type { SubmissionRequest } from '../../web/submission-types';
import type { SubmissionProgress } from '../../workflows/submission-types';
import { SHARED_DATA } from '../support/paths';
import { CRDS_CLI, run } from '../jsonrpc/site';
import { freePorts } from '../support/ports';
import { startProcess, stopProcess, type Started } from '../support/processes';
import { freshMysqlDatabase, freshNamespace, temporalAddress, uniqueName, type TestDatabase } from '../support/services';

export const REAL_CACHE = path.join(SHARED_DATA, 'crds-cache');
export const SPECS = path.join(SHARED_DATA, 'crds-specs');
export const HST_REFERENCES = path.join(REAL_CACHE, 'references', 'hst');
export const CONTEXT = 'hst_0729.pmap';

export interface Mail {
  to: string[];
  subject: string;
  text: string;
}

// smtp-server has no bundled types: the part used here.
interface SmtpServerLike {
  listen(port: number, host: string, cb: () => void): void;
  close(cb: () => void): void;
  server: { address(): AddressInfo };
}

/** A real SMTP receiver on a free port that keeps every message. */
export async function startSmtp(): Promise<{ url: string; mails: Mail[]; close(): Promise<void> }> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SMTPServer } = require('smtp-server') as { SMTPServer: new (o: object) => SmtpServerLike };
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream: NodeJS.ReadableStream, session: { envelope: { rcptTo: { address: string }[] } }, done: () => void) {
      let raw = '';
      stream.on('data', (d: Buffer) => (raw += d.toString()));
      stream.on('end', () => {
        const subject = /^Subject: (.*)$/m.exec(raw)?.[1]?.trim() ?? '';
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), subject, text: raw });
        done();
      });
    },
  });
  const [port] = await freePorts(1);
  await new Promise<void>((resolve) => server.listen(port!, '127.0.0.1', resolve));
  return { url: `smtp://127.0.0.1:${port}`, mails, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/**
 * The real HST cache as far as most submission tests need it, in a fraction of the full
 * import's time: the rules of the last 30 contexts (hst_0700 … hst_0729; older serials are
 * absent, so a name that fills gaps below them shows) and the real references they name,
 * copied into `into` (the import reads regular files only).
 */
export function realCacheSubset(into: string): void {
  const source = path.join(REAL_CACHE, 'mappings', 'hst');
  const store = new MappingStore(source, { ignoreChecksum: 'warn' });
  const names = new Set<string>();
  const references = new Set<string>();
  for (let n = 700; n <= 729; n++) {
    const pmap = store.loadContext(`hst_0${n}.pmap`);
    names.add(pmap.name);
    for (const m of pmap.mappingNames()) names.add(m);
    for (const r of pmap.referenceNames()) references.add(r);
  }
  // Only the real references these rules name (the import types the others by their header alone).
  const placed = fs.readdirSync(HST_REFERENCES).filter((r) => references.has(r));
  for (const [dir, files] of [[path.join('mappings', 'hst'), [...names]], [path.join('references', 'hst'), placed]] as const) {
    fs.mkdirSync(path.join(into, dir), { recursive: true });
    for (const f of files) fs.copyFileSync(path.join(REAL_CACHE, dir, f), path.join(into, dir, f));
  }
}

export interface SubmissionSite {
  observatory: 'hst' | 'jwst';
  /** The latest and edit context the site starts with. */
  context: string;
  config: Config;
  env: Record<string, string>;
  db: Database;
  client: Client;
  service: SubmissionService;
  mails: Mail[];
  work: string;
  ingest(username: string): string;
  close(): Promise<void>;
}

export interface SiteOptions {
  /** Default 'hst'. */
  observatory?: 'hst' | 'jwst';
  /** The latest and edit context imported (default CONTEXT, for HST). */
  context?: string;
  /** Type specs and tpns (default the real ones, SPECS). */
  specsDir?: string;
  /** A Temporal server of the test's own (default ops/runtests' one). */
  temporalAddress?: string;
  /** A MariaDB server of the test's own, `mysql://user:pass@host:port` (default ops/runtests' one). */
  mysqlUrl?: string;
  /** More site settings (CRDS_SUBMISSION_EXPIRY, CRDS_CONTEXT_LOCK_LEASE, ...), for the worker and the web alike. */
  env?: Record<string, string>;
  /** The CRDS cache to import (default the real one, REAL_CACHE; realCacheSubset makes a smaller one). */
  cache?: string;
}

export async function startSubmissionSite(prefix: string, options: SiteOptions = {}): Promise<SubmissionSite> {
  const address = options.temporalAddress ?? temporalAddress();
  const target: TestDatabase = await freshMysqlDatabase(prefix, options.mysqlUrl);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-submission-'));
  const smtp = await startSmtp();
  const namespace = await freshNamespace(prefix, address);
  const observatory = options.observatory ?? 'hst';
  const context = options.context ?? CONTEXT;
  const specsDir = options.specsDir ?? SPECS;
  const env = {
    CRDS_OBSERVATORY: observatory,
    CRDS_USECASE: 'test',
    CRDS_DATABASE_URL: target.url,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: namespace,
    CRDS_TASK_QUEUE: uniqueName(prefix),
    CRDS_FILE_CACHE: path.join(work, 'file_cache'),
    CRDS_SERVER_FILES: path.join(work, 'server_files'),
    CRDS_SITE_URL: 'http://127.0.0.1:8999',
    CRDS_SMTP_URL: smtp.url,
    CRDS_MAIL_FROM: 'crds@test.example',
    CRDS_MAIL_TO: 'datamng@test.example',
    CRDS_SPECS_DIR: specsDir,
    ...options.env,
  };
  const config = loadConfig(env);
  const db = await openDatabase(config.databaseUrl);
  await importCache(db, { source: options.cache ?? REAL_CACHE, fileCache: config.fileCache, observatory, contexts: { latest: context, edit: context } });
  await createUser(db, { username: 'alice', email: 'alice@test.example', password: 'alice-password' });
  await createUser(db, { username: 'bob', email: 'bob@test.example', password: 'bob-password' });
  const connection = await Connection.connect({ address });
  // ops/search-attributes registers them for the dev server's default namespace only.
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(
      ['CrdsSubmitter', 'CrdsInstrument', 'CrdsObservatory'].map((n) => [n, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
    ),
  });
  const client = new Client({ connection, namespace });
  const service = createSubmissionService({ client: async () => client, config, db, archivePollMs: 200 });
  return {
    observatory,
    context,
    config,
    env,
    db,
    client,
    service,
    mails: smtp.mails,
    work,
    ingest: (username) => path.join(config.serverFiles, 'ingest', username),
    async close() {
      await connection.close();
      await db.close();
      await smtp.close();
      await target.drop();
      fs.rmSync(work, { recursive: true, force: true });
    },
  };
}

/** The lock id as db/locks.ts lockId() spells it (the web passes it; only equality matters). */
export function lockIdOf(lock: { type: string; name: string; username: string; createdOn: Date }): string {
  return `${lock.type} - ${lock.name} - ${lock.username} - ${lock.createdOn.toISOString()}`;
}

/** Takes the user's lock on the instrument; returns what the web would pass to start and decide. */
export async function lockFor(site: SubmissionSite, username: string, instrument: string) {
  const row = await acquireLock(site.db, { name: instrument, username });
  return { instrument, lockId: lockIdOf(row), createdOn: row.createdOn, expiresAt: row.expiresAt.toISOString() };
}

/**
 * A real COS reference (`name`, default the 1dx table) with one DESCRIP character set to
 * `tag`, so each test's file has a SHA-1 new to the catalog.
 */
export function cosVariant(tag: string, name = 'z1r1943el_1dx.fits'): Buffer {
  const bytes = fs.readFileSync(path.join(HST_REFERENCES, name));
  const at = bytes.indexOf('LP3-------');
  if (at < 0 || tag.length !== 1) throw new Error(`no DESCRIP card in ${name}, or not a one-character tag`);
  bytes.write(`LP3${tag}`, at, 'latin1');
  return bytes;
}

/** The real ACS distortion table (IDCTAB, v8q14451j_idc.fits) with its DESCRIP's first character set to `tag`. */
export function acsVariant(tag: string): Buffer {
  const bytes = fs.readFileSync(path.join(HST_REFERENCES, 'v8q14451j_idc.fits'));
  const at = bytes.indexOf("DESCRIP = 'YSIZE for POL");
  if (at < 0 || tag.length !== 1) throw new Error('no DESCRIP card in v8q14451j_idc.fits, or not a one-character tag');
  bytes.write(tag, at + "DESCRIP = '".length, 'latin1');
  return bytes;
}

/** Writes cosVariant(tag) into the user's ingest folder as `as`; returns its path. */
export function placeCosVariant(site: SubmissionSite, username: string, tag: string, as = 'z1r1943el_1dx.fits'): string {
  fs.mkdirSync(site.ingest(username), { recursive: true });
  const file = path.join(site.ingest(username), as);
  fs.writeFileSync(file, cosVariant(tag));
  return file;
}

/** The COS 1dx variant '+' in the user's ingest folder. */
export const placeReference = (site: SubmissionSite, username: string): string => placeCosVariant(site, username, '+');

export function request(
  site: SubmissionSite,
  username: string,
  lock: { instrument: string; lockId: string; createdOn: Date },
  jpollKey: string,
  description = 'COS 1dx test delivery',
): SubmissionRequest {
  const dir = site.ingest(username);
  return {
    kind: 'batch_submit_references',
    observatory: site.observatory,
    submitter: { username, email: `${username}@test.example`, isSuperuser: false },
    lock,
    ingestDir: dir,
    files: fs.readdirSync(dir).map((name) => ({ name, size: fs.statSync(path.join(dir, name)).size })),
    pmapMode: 'pmap_edit',
    pmapName: site.context,
    changeLevel: 'SEVERE',
    creator: 'Alice Test',
    description,
    autoRename: true,
    compareOldReference: true,
    jpollKey,
  };
}

export async function waitForProgress(
  site: SubmissionSite,
  resultsId: string,
  done: (p: SubmissionProgress) => boolean,
  timeoutMs = 120_000,
): Promise<SubmissionProgress> {
  const deadline = Date.now() + timeoutMs;
  let last: SubmissionProgress | undefined;
  let failure: unknown;
  for (;;) {
    try {
      // A query needs a worker: right after a worker restart it can miss its deadline.
      last = await site.service.progress(resultsId);
      failure = undefined;
    } catch (err) {
      failure = err;
    }
    if (last && !failure && done(last)) return last;
    if (Date.now() > deadline) {
      throw new Error(`submission ${resultsId} not there after ${timeoutMs} ms: ${failure ? String(failure) : JSON.stringify(last, null, 1)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The real worker process (workers/main.ts) on the site's namespace and task queue, once it polls. */
export const startWorkerProcess = (site: SubmissionSite): Promise<Started> =>
  startProcess('workers/main.ts', site.env, /Worker state changed[\s\S]*RUNNING/);

/** A worker in this process on the site's namespace and task queue, running until `close`. */
export async function startWorkerInProcess(site: SubmissionSite): Promise<{ close(): Promise<void> }> {
  const connection = await NativeConnection.connect({ address: site.config.temporal.address });
  try {
    const worker = await Worker.create({
      connection,
      namespace: site.config.temporal.namespace,
      taskQueue: site.config.temporal.taskQueue,
      workflowsPath: require.resolve('../../workflows'),
      activities: createActivities({ db: site.db, config: site.config, specsRoot: site.env.CRDS_SPECS_DIR }),
    });
    const running = worker.run();
    return {
      async close() {
        worker.shutdown();
        await running;
        await connection.close();
      },
    };
  } catch (err) {
    await connection.close();
    throw err;
  }
}

export interface WebApp {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * The real web app (in this process) on a free port, on the site's database and its own
 * Temporal link. Its submissions go through a service of its own on that link (archive poll
 * shortened to 300 ms), or through the site's service when `service` is given.
 */
export async function startWebApp(
  site: SubmissionSite,
  secretKey: string,
  options: { host?: string; service?: SubmissionService } = {},
): Promise<WebApp> {
  const [port] = await freePorts(1);
  const url = `http://${options.host ?? '127.0.0.1'}:${port}`;
  const config = loadConfig({ ...site.env, PORT: String(port), CRDS_SITE_URL: url });
  const link = new TemporalLink(config.temporal.address, config.temporal.namespace);
  const submissions = options.service ?? createSubmissionService({ client: () => link.client(), config, db: site.db, archivePollMs: 300 });
  const server = createWebServer({ config, db: site.db, temporal: link, catalogRefreshMs: 0, secretKey, submissions }).listen(port!, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    url,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await link.close();
    },
  };
}

export interface WebSubmissionSite {
  site: SubmissionSite;
  worker: Started;
  web: WebApp;
  /** Stops the worker, then the web app, then the site. */
  close(): Promise<void>;
}

/**
 * What the web-facing submission tests run on: a site whose group cos-team (`members`,
 * default alice) submits for COS, the real worker process, and the web app (startWebApp).
 */
export async function startWebSubmissionSite(
  prefix: string,
  secretKey: string,
  options: { members?: string[]; host?: string; site?: SiteOptions } = {},
): Promise<WebSubmissionSite> {
  const site = await startSubmissionSite(prefix, options.site);
  let worker: Started | undefined;
  try {
    await setGroup(site.db, 'cos-team', ['cos'], options.members ?? ['alice']);
    worker = await startWorkerProcess(site);
    const web = await startWebApp(site, secretKey, { host: options.host });
    const started = worker;
    return {
      site,
      worker,
      web,
      async close() {
        await stopProcess(started);
        await web.close();
        await site.close();
      },
    };
  } catch (err) {
    await stopProcess(worker);
    await site.close();
    throw err;
  }
}

/** The real client's environment as alice against the web app at `url`, its cache in `cache`. */
export const aliceClientEnv = (url: string, cache: string): Record<string, string> => ({
  CRDS_SERVER_URL: url,
  CRDS_OBSERVATORY: 'hst',
  CRDS_PATH: cache,
  CRDS_USERNAME: 'alice',
  MAST_API_TOKEN: 'alice-password',
  NO_PROXY: 'localhost,127.0.0.1',
});

/** Runs the real `crds` command line (`args`, e.g. submit …) as alice, logs its output and expects it to succeed cleanly; returns the output. */
export async function runClientAsAlice(url: string, cache: string, args: string[]): Promise<string> {
  const started = Date.now();
  const result = await run(CRDS_CLI, args, aliceClientEnv(url, cache));
  const output = result.stdout + result.stderr;
  console.log(`crds ${args[0]} exit=${result.status} after ${Date.now() - started} ms:\n${output}`);
  expect(result.status).toBe(0);
  expect(output).not.toMatch(/ERROR|Traceback/);
  return output;
}
