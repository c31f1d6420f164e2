// Every activity the workers register, built from the process's shared clients.
import type { Config } from '../config';
import type { Database } from '../db';
import { createLockActivities } from './locks';
import { createCleanupActivities } from './cleanup';
import { createMailActivities } from './mail';
import { createPublishActivities } from './publish';
import { createSubmissionActivities } from './submission';
import { createBackupActivities } from './backup';
import { createMaintenanceActivities } from './maintenance-mode';
import { createMirrorActivities } from './mirror';
import { createNightlyActivities } from './nightly';
import { createAffectedActivities } from './affected';

export interface ActivityDeps {
  db: Database;
  config: Config;
  /** Type specs and certify constraints, <specsRoot>/<obs>/{specs,tpns} (CRDS_SPECS_DIR). */
  specsRoot: string;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createLockActivities(deps.db),
    ...createSubmissionActivities(deps),
    ...createMailActivities(deps),
    ...createBackupActivities(deps),
    ...createMaintenanceActivities(deps),
    ...createMirrorActivities(deps),
    ...createNightlyActivities(deps),
    ...createPublishActivities(deps),
    ...createCleanupActivities(deps),
    ...createAffectedActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
