// ops/manage affected-rerun OLD_CONTEXT NEW_CONTEXT [--user NAME]: computes the affected
// datasets of a transition that already ran once more (the same as the result page's "Compute
// again"), e.g. after the dataset catalog was corrected. A transition never runs twice on its
// own; this is the operator asking.
import { config } from '../../config';
import { openDatabase } from '../../db';
import { createAffectedService } from '../../web/affected-service';
import { parseArgs, withTemporalClient } from '../follow-workflow';

export default async function affectedRerun(args: string[]): Promise<number> {
  const { positional, options } = parseArgs(args, ['user'], []);
  if (positional.length !== 2) throw new Error('usage: ops/manage affected-rerun OLD_CONTEXT NEW_CONTEXT [--user NAME]');
  const [oldContext, newContext] = positional as [string, string];
  const cfg = config();
  const db = await openDatabase(cfg.databaseUrl);
  try {
    const user = typeof options.user === 'string' ? options.user : process.env.USER ?? 'ops';
    const id = await withTemporalClient((client) => createAffectedService({ client: async () => client, config: cfg, db }).startRerun(oldContext, newContext, user));
    if (!id) {
      process.stderr.write(`ops/manage affected-rerun: ${oldContext} -> ${newContext} never ran: nothing to compute again (set the context to start a first run)\n`);
      return 1;
    }
    process.stdout.write(`affected datasets: workflow ${id} (follow it on ${cfg.siteUrl}/affected_datasets/run/${id}/)\n`);
    return 0;
  } finally {
    await db.close();
  }
}
