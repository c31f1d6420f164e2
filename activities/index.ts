// Every activity the workers register, built from the process's shared clients.
import type { Config } from '../config';
import type { Database } from '../db';
import { createLockActivities } from './locks';
import { createMailActivities } from './mail';
import { createSubmissionActivities } from './submission';
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
    ...createAffectedActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
