// The web process: opens the database (migrating it), links to Temporal, and listens.
import { config } from '../config';
import { openDatabase } from '../db';
import { createApp } from './app';
import { sessionSecret } from './sessions';
import { TemporalLink } from './temporal';

async function main(): Promise<void> {
  const cfg = config();
  const secretKey = sessionSecret(cfg); // before anything else: a site without one must not start
  const db = await openDatabase(cfg.databaseUrl);
  const temporal = new TemporalLink(cfg.temporal.address, cfg.temporal.namespace);
  const app = createApp({ config: cfg, db, temporal, secretKey });
  const server = app.listen(cfg.port, () => {
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

main().catch((err: unknown) => {
  console.error(`web: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
