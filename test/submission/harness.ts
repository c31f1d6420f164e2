// A submission site for tests: a fresh MariaDB with the real HST rules imported, a file
// cache and server files in a temporary folder, a real SMTP receiver, a Temporal namespace
// and task queue of its own, and the web's submission service on a Temporal client.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { loadConfig, type Config } from '../../config';
import { openDatabase, type Database } from '../../db';
import { importCache } from '../../db/catalog-import';
import { acquireLock } from '../../db/locks';
import { createUser } from '../../db/accounts';
import { createSubmissionService, type SubmissionService } from '../../web/submissions';
import type { SubmissionRequest } from '../../web/submission-types';
import type { SubmissionProgress } from '../../workflows/submission-types';
import { SHARED_DATA } from '../support/paths';
import { freePorts } from '../support/ports';
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

export interface SubmissionSite {
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
  /** Type specs and tpns (default the real ones, SPECS). */
  specsDir?: string;
  /** A Temporal server of the test's own (default ops/runtests' one). */
  temporalAddress?: string;
  /** A MariaDB server of the test's own, `mysql://user:pass@host:port` (default ops/runtests' one). */
  mysqlUrl?: string;
}

export async function startSubmissionSite(prefix: string, options: SiteOptions = {}): Promise<SubmissionSite> {
  const address = options.temporalAddress ?? temporalAddress();
  const target: TestDatabase = await freshMysqlDatabase(prefix, options.mysqlUrl);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-submission-'));
  const smtp = await startSmtp();
  const namespace = await freshNamespace(prefix, address);
  const env = {
    CRDS_OBSERVATORY: 'hst',
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
    CRDS_SPECS_DIR: options.specsDir ?? SPECS,
  };
  const config = loadConfig(env);
  const db = await openDatabase(config.databaseUrl);
  await importCache(db, { source: REAL_CACHE, fileCache: config.fileCache, observatory: 'hst', contexts: { latest: CONTEXT, edit: CONTEXT } });
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
  const service = createSubmissionService({ client: async () => client, config, confirmTimeoutMs: 120_000, archivePollMs: 200 });
  return {
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

/** A real COS reference with one header character changed, so its SHA-1 is new to the catalog. */
export function placeReference(site: SubmissionSite, username: string, as = 'z1r1943el_1dx.fits', mutate = true): string {
  const bytes = fs.readFileSync(path.join(HST_REFERENCES, 'z1r1943el_1dx.fits'));
  if (mutate) {
    const at = bytes.indexOf('LP3-------');
    if (at < 0) throw new Error('DESCRIP card not found');
    bytes.write('LP3+', at, 'latin1');
  }
  fs.mkdirSync(site.ingest(username), { recursive: true });
  const file = path.join(site.ingest(username), as);
  fs.writeFileSync(file, bytes);
  return file;
}

export function request(site: SubmissionSite, username: string, lock: { instrument: string; lockId: string; createdOn: Date }, jpollKey: string): SubmissionRequest {
  const dir = site.ingest(username);
  return {
    kind: 'batch_submit_references',
    observatory: 'hst',
    submitter: { username, email: `${username}@test.example`, isSuperuser: false },
    lock,
    ingestDir: dir,
    files: fs.readdirSync(dir).map((name) => ({ name, size: fs.statSync(path.join(dir, name)).size })),
    pmapMode: 'pmap_edit',
    pmapName: CONTEXT,
    changeLevel: 'SEVERE',
    creator: 'Alice Test',
    description: 'COS 1dx test delivery',
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
