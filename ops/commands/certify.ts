// ops/manage certify FILE... [--context NAME] [--comparison-context NAME] [--mappings DIR]
//                            [--specs DIR] [--observatory OBS] [--comparison-reference FILE]
//                            [--json]
// Certifies reference and mapping files (crds/certify) and prints the findings in the real
// `crds certify` wording; exit status 1 when any file has errors (the real command exits with
// the error count, which a shell truncates modulo 256), 2 on bad usage.
import * as fs from 'node:fs';
import { certifyFiles, formatFinding } from '../../crds/certify';
import { config } from '../../config';

const USAGE =
  'usage: ops/manage certify FILE... [--context NAME] [--comparison-context NAME] [--mappings DIR]\n' +
  '                          [--specs DIR] [--observatory OBS] [--comparison-reference FILE] [--json]\n' +
  '  --mappings DIR   mappings folder (<DIR>/<obs>/*.pmap or flat); default $CRDS_MAPPINGS_DIR\n' +
  '  --specs DIR      type specs folder (<DIR>/<obs>/{specs,tpns}); default CRDS_SPECS_DIR (local site: config/demo/specs)\n' +
  '  --context / --comparison-context NAME   context the checks and comparisons are relative to\n';

export default async function certify(args: string[]): Promise<number> {
  const files: string[] = [];
  let context: string | undefined;
  let mappingsDir = process.env.CRDS_MAPPINGS_DIR;
  let specsRoot: string | undefined;
  let observatory: string | undefined;
  let comparisonReference: string | undefined;
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = (): string | undefined => {
      const eq = a.indexOf('=');
      return eq > 0 ? a.slice(eq + 1) : args[++i];
    };
    const opt = a.split('=')[0];
    if (opt === '--context' || opt === '--comparison-context') context = value();
    else if (opt === '--mappings') mappingsDir = value();
    else if (opt === '--specs') specsRoot = value() ?? specsRoot;
    else if (opt === '--observatory') observatory = value();
    else if (opt === '--comparison-reference') comparisonReference = value();
    else if (a === '--json') json = true;
    else if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE);
      return 0;
    } else if (a.startsWith('-')) {
      process.stderr.write(`ops/manage certify: unknown option '${a}'\n${USAGE}`);
      return 2;
    } else files.push(a);
  }
  if (!files.length) {
    process.stderr.write(USAGE);
    return 2;
  }
  if (!specsRoot) {
    try {
      specsRoot = config().specsDir;
    } catch (e) {
      process.stderr.write(`ops/manage certify: ${e instanceof Error ? e.message : String(e)}\n`);
      return 2;
    }
  }
  if (!specsRoot) {
    process.stderr.write('ops/manage certify: no type specs: pass --specs DIR or set CRDS_SPECS_DIR\n');
    return 2;
  }
  for (const f of files) {
    if (!fs.existsSync(f)) {
      process.stderr.write(`ops/manage certify: no such file '${f}'\n`);
      return 2;
    }
  }
  const results = certifyFiles(files, { specsRoot, mappingsDir, context, observatory, comparisonReference });
  let errors = 0;
  let warnings = 0;
  if (json) process.stdout.write(JSON.stringify(results, null, 1) + '\n');
  for (const r of results) {
    errors += r.errors;
    warnings += r.warnings;
    if (json) continue;
    process.stdout.write(`CRDS - INFO - ########################################\n`);
    process.stdout.write(`CRDS - INFO - Certifying '${r.file}' as '${r.format.toUpperCase()}' relative to context '${context ?? 'None'}'\n`);
    for (const f of r.findings) process.stdout.write(formatFinding(r, f) + '\n');
  }
  if (!json) {
    process.stdout.write(`CRDS - INFO - ########################################\n`);
    process.stdout.write(`CRDS - INFO - ${errors} errors\nCRDS - INFO - ${warnings} warnings\n`);
  }
  return errors > 0 ? 1 : 0;
}
