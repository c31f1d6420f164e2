// ops/mirror SOURCE_URL [--parallel N]: makes this site a copy of the running site at
// SOURCE_URL (both with the same CRDS_MIRROR_TOKEN), followed in the terminal.
import { config } from '../../config';
import { parseArgs, runOpsWorkflow } from '../follow-workflow';

export default async function mirror(args: string[]): Promise<number> {
  const { positional, options } = parseArgs(args, ['parallel'], []);
  if (positional.length !== 1) throw new Error('usage: ops/mirror SOURCE_URL [--parallel N]');
  const parallel = options.parallel === undefined ? undefined : Number(options.parallel);
  if (parallel !== undefined && !(Number.isInteger(parallel) && parallel >= 1 && parallel <= 32)) throw new Error('--parallel takes a number from 1 to 32');
  return runOpsWorkflow({
    workflowType: 'mirrorWorkflow',
    describe: { what: `ops/mirror: mirror of ${positional[0]} into this ${config().observatory} site`, more: { Parallel: parallel } },
    workflowId: `mirror-${config().observatory}`,
    args: [{ source: positional[0], parallel }],
    summary: (r) => {
      const m = r as { source: string; fetched: number; skipped: number; bytes: number; orphans: string[]; consistency: { findings: unknown[] } };
      return `mirrored ${m.source}: ${m.fetched} files fetched (${(m.bytes / 1e6).toFixed(1)} MB), ${m.skipped} already here; ${m.orphans.length} orphans listed; ${m.consistency.findings.length} consistency findings`;
    },
  });
}
