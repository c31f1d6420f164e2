// ops/manage diff [--mappings DIR] [--include-header-diffs] [--recurse-added-deleted] OLD NEW
// Prints the logical differences between two mappings (normally two contexts) and the
// affected (instrument, reference type) pairs as JSON, like `crds diff` / get_affected.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { affectedTypes, differenceToJson, mappingDifferences } from '../../crds/diff';

const USAGE =
  'usage: ops/manage diff [--mappings DIR] [--include-header-diffs] [--recurse-added-deleted] OLD NEW\n' +
  '  DIR holds the mapping files (default: $CRDS_MAPPINGS, else the current folder);\n' +
  '  an observatory sub-folder (DIR/hst, DIR/jwst) is used when the files are there.\n';

export default async function diff(args: string[]): Promise<number> {
  let mappings = process.env.CRDS_MAPPINGS ?? '.';
  const options = { includeHeaderDiffs: false, recurseAddedDeleted: false };
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--mappings') mappings = args[++i] ?? '';
    else if (arg.startsWith('--mappings=')) mappings = arg.slice('--mappings='.length);
    else if (arg === '--include-header-diffs') options.includeHeaderDiffs = true;
    else if (arg === '--recurse-added-deleted') options.recurseAddedDeleted = true;
    else if (arg === '-h' || arg === '--help') {
      process.stdout.write(USAGE);
      return 0;
    } else if (arg.startsWith('-')) {
      process.stderr.write(`ops/manage diff: unknown option '${arg}'\n${USAGE}`);
      return 2;
    } else names.push(arg);
  }
  if (names.length !== 2 || !mappings) {
    process.stderr.write(USAGE);
    return 2;
  }
  const [oldName, newName] = names.map((n) => path.basename(n));
  const load = (name: string): string => {
    // Only plain mapping basenames: a name from inside a mapping never escapes DIR.
    if (!/^[A-Za-z0-9_.\-]+\.[pir]map$/.test(name)) throw new Error(`not a mapping name: '${name}'`);
    const observatory = name.split('_')[0].replace(/\.[pir]map$/, '');
    for (const candidate of [path.join(mappings, observatory, name), path.join(mappings, name)]) {
      if (fs.existsSync(candidate)) return fs.readFileSync(candidate, 'utf8');
    }
    throw new Error(`mapping '${name}' not found under '${mappings}'`);
  };
  try {
    const differences = mappingDifferences(oldName, newName, load, options);
    const affected = affectedTypes(oldName, newName, load, options);
    const report = { old: oldName, new: newName, differences: differences.map(differenceToJson), affected };
    // Wait until the pipe took it all: the dispatcher exits the process right after we return.
    await new Promise<void>((resolve, reject) =>
      process.stdout.write(JSON.stringify(report, null, 2) + '\n', (err) => (err ? reject(err) : resolve())),
    );
    return 0;
  } catch (err) {
    process.stderr.write(`ops/manage diff: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
