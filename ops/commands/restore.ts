// ops/restore [BACKUP] [--prune] [--references DIR]: restores the site from a backup (default
// the latest) in maintenance mode, followed in the terminal.
import * as path from 'node:path';
import { config } from '../../config';
import { parseArgs, runOpsWorkflow } from '../follow-workflow';

export default async function restore(args: string[]): Promise<number> {
  const { positional, options } = parseArgs(args, ['references'], ['prune']);
  if (positional.length > 1) throw new Error('usage: ops/restore [BACKUP] [--prune] [--references DIR]');
  const prune = options.prune === true;
  return runOpsWorkflow({
    workflowType: 'restoreWorkflow',
    describe: { what: `ops/restore: restore of ${config().observatory} from backup ${positional[0] ?? 'latest'}`, more: { Orphans: prune ? 'moved aside (--prune)' : 'listed only', References: typeof options.references === 'string' ? options.references : undefined } },
    workflowId: `restore-${config().observatory}`,
    args: [{ backup: positional[0], prune, referencesFrom: typeof options.references === 'string' ? path.resolve(options.references) : undefined }],
  });
}
