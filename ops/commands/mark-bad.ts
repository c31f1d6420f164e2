// ops/manage mark-bad --why TEXT [--user NAME] [--ok] FILE...
// The original's "Mark Files Bad": rejects the files (or, with --ok, clears them), which
// blacklists every mapping that names a rejected mapping; clients see them in bad_files_list
// and file info. A file in the latest context is refused; one unknown name changes nothing.
import * as path from 'node:path';
import { config } from '../../config';
import { openDatabase } from '../../db';
import { CatalogError, markFilesBad } from '../../db/catalog';

const USAGE = 'usage: ops/manage mark-bad --why TEXT [--user NAME] [--ok] FILE...\n';

export default async function markBad(args: string[]): Promise<number> {
  let why = '';
  let user = process.env.USER || 'crds-admin';
  let bad = true;
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--why') why = args[++i] ?? '';
    else if (arg === '--user') user = args[++i] ?? '';
    else if (arg === '--ok') bad = false;
    else if (arg === '-h' || arg === '--help') {
      process.stdout.write(USAGE);
      return 0;
    } else if (arg.startsWith('-')) {
      process.stderr.write(`ops/manage mark-bad: unknown option '${arg}'\n${USAGE}`);
      return 2;
    } else names.push(arg);
  }
  if (!names.length || !why.trim() || !user) {
    process.stderr.write(`ops/manage mark-bad: name at least one file, and say why (--why)\n${USAGE}`);
    return 2;
  }
  const cfg = config();
  const db = await openDatabase(cfg.databaseUrl);
  try {
    const result = await markFilesBad(db, {
      names,
      bad,
      reason: why,
      username: user,
      mappingsDir: path.join(cfg.fileCache, 'mappings', cfg.observatory),
    });
    process.stdout.write(bad ? `rejected: ${result.rejected.join(' ')}\n` : `cleared: ${names.join(' ')}\n`);
    process.stdout.write(`blacklisted: ${result.blacklisted.join(' ') || '(none)'}\n`);
    return 0;
  } catch (exc) {
    if (!(exc instanceof CatalogError)) throw exc;
    process.stderr.write(`ops/manage mark-bad: ${exc.message}\n`);
    return 1;
  } finally {
    await db.close();
  }
}
