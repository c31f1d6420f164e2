// ops/manage init [DIR] [--latest CTX] [--edit CTX] [--versions CTX] [--description TEXT] [--if-empty] [--no-history] [--json]
// The original server's ./init: loads the site's catalog from a CRDS cache folder DIR
// (mappings/<obs>, references/<obs>, config/<obs>; default: the project's demo site in
// config/demo/cache), copying the files into the server's file cache, and the site's
// latest-context history and default contexts from DIR/config/<obs>/server_config. Safe to run again:
// it reports what it added, what it found already catalogued, and what it left alone.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { config, REPO_ROOT } from '../../config';
import { openDatabase } from '../../db';
import { importCache, type ImportReport } from '../../db/catalog-import';
import type { ContextState } from '../../db/catalog';

const USAGE =
  'usage: ops/manage init [DIR] [--latest CTX] [--edit CTX] [--versions CTX] [--description TEXT] [--if-empty] [--no-history] [--json]\n' +
  '  DIR is a CRDS cache folder (mappings/<obs>, references/<obs>, config/<obs>); default config/demo/cache.\n' +
  '  Contexts default to the ones already set, else those of DIR/config/<obs>/server_config, else\n' +
  '  (latest, edit) the newest numbered .pmap. The server_config\'s context history is imported\n' +
  '  for the contexts present unless --no-history.\n' +
  '  --if-empty imports nothing when the catalog already holds files (ops/run\'s demo step).\n';

export const DEMO_CACHE = path.join(REPO_ROOT, 'config', 'demo', 'cache');

export default async function init(args: string[]): Promise<number> {
  let source = '';
  let json = false;
  let ifEmpty = false;
  let siteConfig = true;
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
    else if (arg === '--no-history') siteConfig = false;
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
      siteConfig,
      specsDir: cfg.specsDir,
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
  const h = r.history;
  if (h.imported || h.known || h.uncatalogued) {
    lines.push(`  context history: ${h.imported} entries imported, ${h.known} already recorded${h.uncatalogued ? `, ${h.uncatalogued} of contexts not present left out` : ''}`);
  }
  for (const [state, c] of Object.entries(r.contexts)) lines.push(`  ${state} context: ${c!.context}${c!.changed ? ' (set)' : ' (unchanged)'}`);
  if (r.rejected.length) lines.push(`  marked bad: ${r.rejected.join(', ')}`);
  for (const s of r.skipped) lines.push(`  skipped ${s.name}: ${s.reason}`);
  for (const c of r.conflicts) lines.push(`  CONFLICT ${c}: catalogued with other contents; left alone`);
  return lines.join('\n') + '\n';
}
