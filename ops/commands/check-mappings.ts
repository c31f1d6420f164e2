// ops/manage check-mappings --mappings DIR [--ignore-checksum] [NAME...]
// Parses every named mapping (all mappings under DIR when none are named), builds it and
// verifies its sha1sum. One line per failure with the reason, then a summary line;
// exit status 1 when any mapping fails.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findDuplicateKeys, listMappingFiles, mappingFromText, parseMapping } from '../../crds';

const USAGE = 'usage: ops/manage check-mappings --mappings DIR [--duplicates] [NAME...]\n' +
  '  --duplicates  also fail mappings with duplicate dict keys (certify\'s check)\n';

export default async function checkMappings(args: string[]): Promise<number> {
  let dir = '';
  let duplicates = false;
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--mappings') dir = args[++i] ?? '';
    else if (arg.startsWith('--mappings=')) dir = arg.slice('--mappings='.length);
    else if (arg === '--duplicates') duplicates = true;
    else if (arg === '-h' || arg === '--help') {
      process.stdout.write(USAGE);
      return 0;
    } else if (arg.startsWith('-')) {
      process.stderr.write(`ops/manage check-mappings: unknown option '${arg}'\n${USAGE}`);
      return 2;
    } else names.push(arg);
  }
  if (!dir) {
    process.stderr.write(USAGE);
    return 2;
  }
  const files = names.length ? names : listMappingFiles(dir);
  let failed = 0;
  const started = Date.now();
  for (const entry of files) {
    const name = names.length ? entry : path.basename(entry);
    const file = names.length ? locate(dir, entry) : entry;
    if (!file) {
      process.stdout.write(`FAIL ${name}: not found in ${dir}\n`);
      failed++;
      continue;
    }
    try {
      const text = fs.readFileSync(file, 'utf8');
      if (duplicates) {
        const dups = findDuplicateKeys(parseMapping(text, path.basename(file)));
        if (dups.length) throw new Error(dups.map((d) => d.message).join('; '));
      }
      mappingFromText(text, path.basename(file), undefined, { eager: true });
    } catch (exc) {
      process.stdout.write(`FAIL ${name}: ${(exc as Error).message}\n`);
      failed++;
    }
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(2);
  process.stdout.write(`${files.length} mappings checked, ${files.length - failed} ok, ${failed} failed (${seconds} s)\n`);
  return failed ? 1 : 0;
}

function locate(dir: string, name: string): string | undefined {
  if (name.includes('/')) return fs.existsSync(name) ? name : undefined;
  const observatory = name.split(/[_.]/)[0];
  for (const candidate of [path.join(dir, name), path.join(dir, observatory, name)]) {
    if (fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}
