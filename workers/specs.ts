// Where the worker finds certify's type specs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, type Config } from '../config';

/**
 * Certify's type specs: CRDS_SPECS_DIR (a local site defaults to the demo site's). A shared
 * site's worker never falls back to the demo specs: it would certify against the wrong rules.
 */
export function workerSpecsRoot(cfg: Config): string {
  if (!cfg.specsDir) {
    throw new ConfigError(`CRDS_SPECS_DIR is missing: a ${cfg.usecase} worker certifies with the site's type specs, <dir>/${cfg.observatory}/{specs,tpns} (for HST ../shared/data/crds-specs)`);
  }
  if (cfg.usecase !== 'local' && !fs.existsSync(path.join(cfg.specsDir, cfg.observatory, 'specs'))) {
    throw new ConfigError(`CRDS_SPECS_DIR=${JSON.stringify(cfg.specsDir)} has no ${cfg.observatory}/specs folder`);
  }
  return cfg.specsDir;
}
