// The worker process: runs every workflow and activity on the site's task queue and
// makes sure the maintenance schedules exist. Started by ops/run (and docker compose).
import { Client, Connection } from '@temporalio/client';
import * as path from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { config } from '../config';
import { openDatabase } from '../db';
import { createActivities } from '../activities';
import { ensureSchedules } from './schedules';
import { installWorkerMetrics } from './metrics';
import { ensureSearchAttributes } from './search-attributes';
import { workerSpecsRoot } from './specs';

async function main(): Promise<void> {
  const cfg = config();
  const specsRoot = workerSpecsRoot(cfg); // before connecting: a worker without its specs must not start
  const metricsAddress = installWorkerMetrics();
  if (metricsAddress) console.log(`worker: Temporal SDK metrics on http://${metricsAddress}/metrics`);
  const db = await openDatabase(cfg.databaseUrl);
  const connection = await NativeConnection.connect({ address: cfg.temporal.address });
  const worker = await Worker.create({
    connection,
    namespace: cfg.temporal.namespace,
    taskQueue: cfg.temporal.taskQueue,
    workflowsPath: require.resolve('../workflows'),
    activities: createActivities({ db, config: cfg, specsRoot }),
  });
  const clientConnection = await Connection.connect({ address: cfg.temporal.address });
  const client = new Client({ connection: clientConnection, namespace: cfg.temporal.namespace });
  const searchAttributes = await ensureSearchAttributes(clientConnection, cfg.temporal.namespace);
  const schedules = await ensureSchedules(client, cfg.temporal.taskQueue, cfg);
  console.log(`worker: task queue ${cfg.temporal.taskQueue} on ${cfg.temporal.address}; schedules ${JSON.stringify(schedules)}; search attributes ${JSON.stringify(searchAttributes)}`);
  try {
    await worker.run(); // until SIGINT/SIGTERM
  } finally {
    await clientConnection.close();
    await connection.close();
    await db.close();
  }
}

main().catch((err: unknown) => {
  console.error(`worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
