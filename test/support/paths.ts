// Where tests find things outside the repository. Real CRDS data is read in place from
// ../shared/data (never copied into the repo); CRDS_SHARED_DATA overrides the location.
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const SHARED_DATA = process.env.CRDS_SHARED_DATA ?? path.resolve(REPO_ROOT, '..', 'shared', 'data');
export const MAPPINGS = path.join(SHARED_DATA, 'crds-cache', 'mappings');
export const TESTDATA = path.join(SHARED_DATA, 'crds-testdata');
/** The project-local Python with the real `crds` library, installed by ops/install. */
export const CRDS_PYTHON = process.env.CRDS_PYTHON ?? path.join(REPO_ROOT, '.venv', 'bin', 'python');
