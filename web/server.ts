// The web process: opens the database (migrating it), links to Temporal, and listens.
// CRDS_WEB_PROCESSES=N (default 1) runs N such processes sharing the port (node:cluster); the
// primary only forks them, restarts one that dies, and passes SIGTERM/SIGINT on. Each keeps its
// own in-memory catalog view and rules cache, reloaded from the database when it changes.
import cluster from 'node:cluster';
import { config } from '../config';
import { openDatabase } from '../db';
import { createWebServer } from './app';
import { sessionSecret } from './sessions';
import { TemporalLink } from './temporal';

async function main(): Promise<void> {
  const cfg = config();
  const secretKey = sessionSecret(cfg); // before anything else: a site without one must not start
  const db = await openDatabase(cfg.databaseUrl);
  const temporal = new TemporalLink(cfg.temporal.address, cfg.temporal.namespace);
  const server = createWebServer({ config: cfg, db, temporal, secretKey }).listen(cfg.port, () => {
    console.log(`web: ${cfg.observatory} ${cfg.usecase} site on ${cfg.siteUrl} (port ${cfg.port})`);
  });
  const stop = () => {
    server.close(() => {
      void Promise.all([temporal.close(), db.close()]).finally(() => process.exit(0));
    });
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function processes(): number {
  const raw = process.env.CRDS_WEB_PROCESSES ?? '1';
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    console.error(`web: CRDS_WEB_PROCESSES must be an integer from 1 to 64, not '${raw}'`);
    process.exit(1);
  }
  return n;
}

function primary(n: number): void {
  let stopping = false;
  const fork = () => cluster.fork();
  for (let i = 0; i < n; i++) fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    console.error(`web: process ${worker.process.pid} exited (${signal ?? code}); starting another`);
    setTimeout(fork, 1000).unref();
  });
  const stop = () => {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    setTimeout(() => process.exit(0), 6000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

const n = processes();
if (n > 1 && cluster.isPrimary) primary(n);
else {
  main().catch((err: unknown) => {
    console.error(`web: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
