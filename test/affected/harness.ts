// A site for the affected-datasets tests: the real HST rules imported into a fresh MariaDB
// database and file cache, the web (JSON-RPC for the real client, pages), a Temporal
// namespace of its own with the project's search attributes, a real SMTP receiver, and
// real worker processes (workers/main.ts) that tests may kill.
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MappingStore } from '../../crds';
import { generateDatasetHeaders } from '../../crds/dataset-generator';
import { appendDatasets } from '../../db/datasets';
import { createAffectedService, type AffectedService } from '../../web/affected-service';
import type { AffectedOutcome } from '../../activities/affected';
import { startSite, REAL_CACHE, type Site } from '../jsonrpc/site';
import { startSmtp, type Mail } from '../submission/harness';
import { startProcess, stopProcess, type Started } from '../support/processes';
import { freshNamespace, temporalAddress, uniqueName } from '../support/services';
import { SHARED_DATA } from '../support/paths';

export { REAL_CACHE };

export interface AffectedSite {
  site: Site;
  client: Client;
  service: AffectedService;
  mails: Mail[];
  /** The worker's environment (the site's database, file cache, namespace, task queue). */
  workerEnv: Record<string, string>;
  startWorker(): Promise<Started>;
  /** Adds `count` datasets generated from `context`'s rules. */
  addDatasets(context: string, count: number, seed: number): Promise<number>;
  /** The workflow's outcome, once it ends. */
  result(workflowId: string): Promise<AffectedOutcome>;
  close(): Promise<void>;
}

export const SEARCH_ATTRIBUTES = ['CrdsObservatory', 'CrdsOldContext', 'CrdsNewContext'];

/**
 * A CRDS cache folder holding only the closures of `contexts` from the real HST cache (no
 * context history): importing it takes seconds, not the whole cache's minute.
 */
export function subsetCache(contexts: string[]): string {
  const source = path.join(REAL_CACHE, 'mappings', 'hst');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-affected-cache-'));
  const target = path.join(dir, 'mappings', 'hst');
  fs.mkdirSync(target, { recursive: true });
  fs.mkdirSync(path.join(dir, 'references', 'hst'), { recursive: true });
  const store = new MappingStore(source, { ignoreChecksum: true });
  for (const context of contexts) for (const name of store.loadContext(context).mappingNames()) fs.copyFileSync(path.join(source, name), path.join(target, name));
  return dir;
}

export async function startAffectedSite(prefix: string, contexts: string[], env: Record<string, string> = {}): Promise<AffectedSite> {
  const latest = contexts[0];
  const source = subsetCache(contexts);
  const smtp = await startSmtp();
  const address = temporalAddress();
  const namespace = await freshNamespace(prefix, address);
  const connection = await Connection.connect({ address });
  // ops/search-attributes registers them for the dev server's default namespace only.
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTES.map((n) => [n, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
  });
  const client = new Client({ connection, namespace });
  const taskQueue = uniqueName(prefix);
  const mailEnv = { CRDS_SMTP_URL: smtp.url, CRDS_MAIL_FROM: 'crds@test.example', CRDS_REPROCESSING_MAIL_TO: 'reprocessing@test.example' };
  const site = await startSite({
    observatory: 'hst',
    source,
    contexts: { latest, edit: latest },
    env: { TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace, CRDS_TASK_QUEUE: taskQueue, ...mailEnv, ...env },
  });
  const workerEnv = {
    CRDS_OBSERVATORY: 'hst',
    CRDS_USECASE: 'test',
    CRDS_DATABASE_URL: site.config.databaseUrl,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: namespace,
    CRDS_TASK_QUEUE: taskQueue,
    CRDS_FILE_CACHE: site.fileCache,
    CRDS_SERVER_FILES: site.config.serverFiles,
    CRDS_SITE_URL: site.url,
    // A shared site's worker needs its certify specs.
    CRDS_SPECS_DIR: path.join(SHARED_DATA, 'crds-specs'),
    ...mailEnv,
    ...env,
  };
  const service = createAffectedService({ client: async () => client, config: site.config, db: site.db, batchSize: 500, parallelism: 4 });
  const workers: Started[] = [];
  const store = new MappingStore(path.join(site.fileCache, 'mappings', 'hst'), { ignoreChecksum: true });
  return {
    site,
    client,
    service,
    mails: smtp.mails,
    workerEnv,
    async startWorker() {
      const w = await startProcess('workers/main.ts', workerEnv, /Worker state changed[\s\S]*RUNNING/, 180_000);
      workers.push(w);
      return w;
    },
    async addDatasets(context, count, seed) {
      return (await appendDatasets(site.db, generateDatasetHeaders(store, context, count, seed), count, ['INSTRUME'])).stored;
    },
    result: (workflowId) => client.workflow.getHandle(workflowId).result() as Promise<AffectedOutcome>,
    async close() {
      for (const w of workers) await stopProcess(w);
      for await (const s of client.schedule.list()) await client.schedule.getHandle(s.scheduleId).delete().catch(() => undefined);
      await connection.close();
      await smtp.close();
      await site.close();
      fs.rmSync(source, { recursive: true, force: true });
    },
  };
}
