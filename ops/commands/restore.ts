// ops/restore [BACKUP] [--prune] [--references DIR]: restores the site from a backup (default
// the latest) in maintenance mode, followed in the terminal.
import * as path from 'node:path';
import { config } from '../../config';
import { parseArgs, runOpsWorkflow } from '../follow-workflow';

export default async function restore(args: string[]): Promise<number> {
  const { positional, options } = parseArgs(args, ['references'], ['prune']);
  if (positional.length > 1) throw new Error('usage: ops/restore [BACKUP] [--prune] [--references DIR]');
  return runOpsWorkflow({
    workflowType: 'restoreWorkflow',
    workflowId: `restore-${config().observatory}`,
    args: [{ backup: positional[0], prune: options.prune === true, referencesFrom: typeof options.references === 'string' ? path.resolve(options.references) : undefined }],
  });
}
