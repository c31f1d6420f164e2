// ops/manage init [DIR] [--latest CTX] [--edit CTX] [--versions CTX] [--description TEXT] [--if-empty] [--json]
// The original server's ./init: loads the site's catalog from a CRDS cache folder DIR
// (mappings/<obs>, references/<obs>, config/<obs>; default: the project's demo site in
// config/demo/cache), copying the files into the server's file cache. Safe to run again:
// it reports what it added, what it found already catalogued, and what it left alone.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { config, REPO_ROOT } from '../../config';
import { openDatabase } from '../../db';
import { importCache, type ImportReport } from '../../db/catalog-import';
import type { ContextState } from '../../db/catalog';

const USAGE =
  'usage: ops/manage init [DIR] [--latest CTX] [--edit CTX] [--versions CTX] [--description TEXT] [--if-empty] [--json]\n' +
  '  DIR is a CRDS cache folder (mappings/<obs>, references/<obs>, config/<obs>); default config/demo/cache.\n' +
  '  Latest and edit contexts default to the ones already set, else the newest numbered .pmap.\n' +
  '  --if-empty imports nothing when the catalog already holds files (ops/run\'s demo step).\n';

export const DEMO_CACHE = path.join(REPO_ROOT, 'config', 'demo', 'cache');

export default async function init(args: string[]): Promise<number> {
  let source = '';
  let json = false;
  let ifEmpty = false;
  let description: string | undefined;
  const contexts: Partial<Record<ContextState, string>> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const m = /^--(latest|edit|versions|description)(?:=(.*))?$/.exec(arg);
    if (arg === '-h' || arg === '--help') {
      process.stdout.write(USAGE);
      return 0;
    } else if (arg === '--json') json = true;
    else if (arg === '--if-empty') ifEmpty = true;
    else if (m) {
      const value = m[2] ?? args[++i];
      if (!value) {
        process.stderr.write(`ops/manage init: --${m[1]} needs a value\n${USAGE}`);
        return 2;
      }
      if (m[1] === 'description') description = value;
      else contexts[m[1] as ContextState] = value;
    } else if (arg.startsWith('-') || source) {
      process.stderr.write(`ops/manage init: unexpected argument '${arg}'\n${USAGE}`);
      return 2;
    } else source = arg;
  }
  source = path.resolve(source || DEMO_CACHE);
  const cfg = config();
  if (!fs.existsSync(path.join(source, 'mappings', cfg.observatory))) {
    process.stderr.write(`ops/manage init: ${source} has no mappings/${cfg.observatory} folder: not a CRDS cache of this site's observatory (${cfg.observatory})\n`);
    return 1;
  }
  const db = await openDatabase(cfg.databaseUrl);
  try {
    if (ifEmpty && (await db.models.CatalogFile.count()) > 0) {
      process.stdout.write(`init: the catalog already holds files: ${source} not imported (--if-empty)\n`);
      return 0;
    }
    const report = await importCache(db, {
      source,
      fileCache: cfg.fileCache,
      observatory: cfg.observatory,
      contexts,
      description,
      log: json ? undefined : (line) => process.stdout.write(line + '\n'),
    });
    process.stdout.write(json ? JSON.stringify(report, null, 2) + '\n' : summary(report, source));
    return report.conflicts.length ? 1 : 0;
  } finally {
    await db.close();
  }
}

function summary(r: ImportReport, source: string): string {
  const lines = [
    `init from ${source}:`,
    `  mappings:   ${r.mappings.added} added, ${r.mappings.known} already catalogued`,
    `  references: ${r.references.added} added, ${r.references.known} already catalogued`,
  ];
  for (const [state, c] of Object.entries(r.contexts)) lines.push(`  ${state} context: ${c!.context}${c!.changed ? ' (set)' : ' (unchanged)'}`);
  if (r.rejected.length) lines.push(`  marked bad: ${r.rejected.join(', ')}`);
  for (const s of r.skipped) lines.push(`  skipped ${s.name}: ${s.reason}`);
  for (const c of r.conflicts) lines.push(`  CONFLICT ${c}: catalogued with other contents; left alone`);
  return lines.join('\n') + '\n';
}
