// Maintenance mode for restores and mirrors (db/maintenance.ts keeps the state the web reads):
// entering it also pauses the worker's schedules, so no nightly or lock clearing runs on a
// half-restored site; leaving it unpauses exactly the schedules it paused.
import { Context } from '@temporalio/activity';
import type { Config } from '../config';
import { clearMaintenance, readMaintenance, writeMaintenance, type MaintenanceState } from '../db/maintenance';

const PAUSE_NOTE = 'paused by CRDS maintenance';

export function createMaintenanceActivities(deps: { config: Config }) {
  const { serverFiles } = deps.config;
  return {
    /** Idempotent: a second call keeps the schedules the first one paused. */
    async enterMaintenance(input: { reason: string; workflowId: string }): Promise<MaintenanceState> {
      const existing = readMaintenance(serverFiles);
      const state: MaintenanceState = { reason: input.reason, since: existing?.since || new Date().toISOString(), workflowId: input.workflowId, pausedSchedules: existing?.pausedSchedules ?? [] };
      // The web closes first: nothing new starts while schedules are being paused.
      writeMaintenance(serverFiles, state);
      const client = Context.current().client;
      for await (const s of client.schedule.list()) {
        const handle = client.schedule.getHandle(s.scheduleId);
        const d = await handle.describe();
        if (d.state.paused) continue;
        await handle.pause(`${PAUSE_NOTE} (${input.workflowId})`);
        state.pausedSchedules.push(s.scheduleId);
        writeMaintenance(serverFiles, state);
      }
      return state;
    },
    async leaveMaintenance(): Promise<{ unpaused: string[] }> {
      const state = readMaintenance(serverFiles);
      const unpaused: string[] = [];
      const client = Context.current().client;
      for (const id of state?.pausedSchedules ?? []) {
        try {
          await client.schedule.getHandle(id).unpause('maintenance over');
          unpaused.push(id);
        } catch {
          /* deleted meanwhile */
        }
      }
      clearMaintenance(serverFiles);
      return { unpaused };
    },
  };
}

export type MaintenanceActivities = ReturnType<typeof createMaintenanceActivities>;
