// Every activity the workers register, built from the process's shared clients.
import type { Database } from '../db';
import { createLockActivities } from './locks';

export interface ActivityDeps {
  db: Database;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createLockActivities(deps.db),
  };
}

export type Activities = ReturnType<typeof createActivities>;
