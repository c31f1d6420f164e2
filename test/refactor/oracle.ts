// Runs the Python oracle scripts (the real `crds` library) for the differential tests.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CRDS_PYTHON, MAPPINGS } from '../support/paths';
import { parseMapping, pyToJs } from '../../crds/parser';

const ORACLE_DIR = path.join(__dirname, 'oracle');

export function runOracle<T>(script: string, request: object): T {
  const run = spawnSync(CRDS_PYTHON, [path.join(ORACLE_DIR, script)], {
    input: JSON.stringify({ mappings: MAPPINGS, ...request }),
    maxBuffer: 1 << 30,
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`oracle ${script} failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

export function mappingPath(name: string): string {
  return path.join(MAPPINGS, name.split('_')[0], name);
}

export function readMapping(name: string): string {
  return fs.readFileSync(mappingPath(name), 'utf8');
}

/** Names of the rmaps in the closure of a context, sorted. */
export function contextRmaps(pmap: string): string[] {
  const selections = (ast: ReturnType<typeof parseMapping>) =>
    Object.values(pyToJs(ast.selector) as Record<string, string>).filter((v) => /\.[ir]map$/.test(v));
  const rmaps: string[] = [];
  for (const imap of selections(parseMapping(readMapping(pmap)))) {
    rmaps.push(...selections(parseMapping(readMapping(imap))));
  }
  return rmaps.sort();
}

export function listMappings(observatory: string): string[] {
  return fs.readdirSync(path.join(MAPPINGS, observatory)).sort();
}
