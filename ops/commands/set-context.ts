// ops/manage set-context CONTEXT --kind operational|edit|versions --why TEXT [--user NAME] [--no-affected]
// Sets a default context as /set_default_context/ does (db/set-context.ts: the same refusals,
// history entry and audit record). An operational change then starts its affected datasets
// run in Temporal (affected-<obs>-<old>-<new>); when Temporal cannot be reached, the
// monitor-reprocessing schedule starts it later.
import { config } from '../../config';
import { openDatabase } from '../../db';
import { CatalogError } from '../../db/catalog';
import { setContext } from '../../db/set-context';
import { createAffectedService } from '../../web/affected-service';
import { withTemporalClient } from '../follow-workflow';

const USAGE = 'usage: ops/manage set-context CONTEXT --kind operational|edit|versions --why TEXT [--user NAME] [--no-affected]\n';

export default async function setContextCommand(args: string[]): Promise<number> {
  const opts: Record<string, string> = {};
  let context: string | undefined;
  let affected = true;
  for (let i = 0; i < args.length; i++) {
    const m = /^--(kind|why|user)$/.exec(args[i]);
    if (args[i] === '-h' || args[i] === '--help') {
      process.stdout.write(USAGE);
      return 0;
    }
    if (args[i] === '--no-affected') affected = false;
    else if (m && args[i + 1] !== undefined) opts[m[1]] = args[++i];
    else if (!args[i].startsWith('-') && !context) context = args[i];
    else {
      process.stderr.write(`ops/manage set-context: unexpected argument '${args[i]}'\n${USAGE}`);
      return 2;
    }
  }
  if (!context || !opts.kind || opts.why === undefined) {
    process.stderr.write(`ops/manage set-context: give CONTEXT, --kind and --why\n${USAGE}`);
    return 2;
  }
  const cfg = config();
  const db = await openDatabase(cfg.databaseUrl);
  try {
    const outcome = await setContext(db, cfg, { context, kind: opts.kind, why: opts.why, username: opts.user ?? process.env.USER ?? 'ops' });
    process.stdout.write(`${opts.kind} context: ${outcome.previous || '(none)'} -> ${outcome.context}\n`);
    if (outcome.state === 'latest' && outcome.previous && affected) {
      try {
        const id = await withTemporalClient(
          (client) => createAffectedService({ client: async () => client, config: cfg, db }).startActivation(outcome.previous, outcome.context, opts.user ?? 'ops'),
          '3 seconds',
        );
        process.stdout.write(`affected datasets: workflow ${id}\n`);
      } catch (err) {
        process.stdout.write(`affected datasets: not started now (${(err as Error).message}); the monitor-reprocessing schedule will start it\n`);
      }
    }
    return 0;
  } catch (err) {
    if (err instanceof CatalogError) {
      process.stderr.write(`ops/manage set-context: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await db.close();
  }
}
