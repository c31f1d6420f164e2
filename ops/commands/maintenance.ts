// ops/manage maintenance on REASON | off | status: maintenance mode by hand (a failed restore
// leaves the site in it on purpose). `off` removes the state only: schedules a restore paused
// are listed so the operator unpauses them in Temporal UI.
import { config } from '../../config';
import { clearMaintenance, readMaintenance, writeMaintenance } from '../../db/maintenance';

export default async function maintenance(args: string[]): Promise<number> {
  const { serverFiles } = config();
  const [verb, ...rest] = args;
  const state = readMaintenance(serverFiles);
  if (verb === 'status' || verb === undefined) {
    process.stdout.write(state ? `in maintenance since ${state.since}: ${state.reason}\n` : 'open\n');
    return 0;
  }
  if (verb === 'on') {
    if (!rest.length) throw new Error('usage: ops/manage maintenance on REASON');
    writeMaintenance(serverFiles, { reason: rest.join(' '), since: new Date().toISOString(), pausedSchedules: state?.pausedSchedules ?? [] });
    process.stdout.write('in maintenance\n');
    return 0;
  }
  if (verb === 'off') {
    clearMaintenance(serverFiles);
    process.stdout.write(`open${state?.pausedSchedules.length ? `; paused by the restore, unpause in Temporal UI: ${state.pausedSchedules.join(', ')}` : ''}\n`);
    return 0;
  }
  throw new Error('usage: ops/manage maintenance on REASON | off | status');
}
