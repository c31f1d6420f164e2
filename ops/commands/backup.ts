// ops/backup [--name NAME]: a backup of the site now (the nightly's backup step), followed in the terminal.
import { config } from '../../config';
import { parseArgs, runOpsWorkflow } from '../follow-workflow';
import type { BackupSummary } from '../../activities/backup';

export default async function backup(args: string[]): Promise<number> {
  const { options } = parseArgs(args, ['name'], []);
  const name = typeof options.name === 'string' ? options.name : new Date().toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  return runOpsWorkflow({
    workflowType: 'backupWorkflow',
    describe: { what: `ops/backup: backup ${name} of ${config().observatory}` },
    workflowId: `backup-${config().observatory}-${name}`,
    args: [{ name }],
    summary: (r) => {
      const b = r as BackupSummary;
      return `backup ${b.name}: ${b.files} files, ${(b.bytes / 1e6).toFixed(1)} MB copied, ${b.references} references listed, ${b.seconds.toFixed(1)} s, in ${b.dir}${b.pruned.length ? `; pruned ${b.pruned.join(', ')}` : ''}`;
    },
  });
}
