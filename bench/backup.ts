// Backup and restore of the imported HST site (every mapping of ../shared/data/crds-cache and
// its references) beside the plain tools on the same data: `mariadb-dump --single-transaction`
// + `cp -r` of the backed-up folders, and `mariadb < dump` + `cp -r` back. Prints seconds, MB/s
// and the ratio to the baseline (goal: within 1.5×). Best of --runs N (default 3).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../config';
import { openDatabase } from '../db';
import { importCache } from '../db/catalog-import';
import { backedUpFolders, createBackup, restoreDatabase, restoreFiles } from '../activities/backup';
import { freshMysqlDatabase } from '../test/support/services';
import { SHARED_DATA } from '../test/support/paths';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
}

function best(runs: number, f: () => Promise<void> | void): Promise<number> {
  return (async () => {
    let min = Infinity;
    for (let i = 0; i < runs; i++) {
      const t = process.hrtime.bigint();
      await f();
      min = Math.min(min, Number(process.hrtime.bigint() - t) / 1e9);
    }
    return min;
  })();
}

async function main(): Promise<void> {
  const runs = Number(arg('runs', '3'));
  const source = path.join(SHARED_DATA, 'crds-cache');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-bench-backup-'));
  const origin = await freshMysqlDatabase('bench_origin');
  const copy = await freshMysqlDatabase('bench_copy');
  const env = (db: string, dir: string) => ({ CRDS_OBSERVATORY: 'hst', CRDS_DATABASE_URL: db, CRDS_FILE_CACHE: path.join(dir, 'file_cache'), CRDS_SERVER_FILES: path.join(dir, 'server_files'), CRDS_BACKUP_KEEP: '100' });
  const config = loadConfig(env(origin.url, path.join(work, 'origin')));
  const restored = loadConfig(env(copy.url, path.join(work, 'restored')));
  try {
    const db = await openDatabase(config.databaseUrl);
    const t0 = Date.now();
    await importCache(db, { source, fileCache: config.fileCache, observatory: 'hst' });
    console.log(`imported the HST site in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const u = new URL(config.databaseUrl);
    const client = ['--protocol=TCP', `--host=${u.hostname}`, `--port=${u.port}`, `--user=${u.username}`];
    const toolEnv = { ...process.env, MYSQL_PWD: decodeURIComponent(u.password) };
    const folders = backedUpFolders(config).filter((f) => fs.existsSync(f.live));

    let n = 0;
    let bytes = 0;
    const ours = await best(runs, async () => {
      bytes = (await createBackup(db, config, `bench-${++n}`)).bytes;
    });
    const base = path.join(work, 'baseline');
    const baseline = await best(runs, () => {
      fs.rmSync(base, { recursive: true, force: true });
      fs.mkdirSync(base, { recursive: true });
      execFileSync('sh', ['-c', `mariadb-dump "$@" --single-transaction --quick ${u.pathname.slice(1)} > ${base}/database.sql`, 'sh', ...client], { env: toolEnv });
      for (const f of folders) execFileSync('cp', ['-r', f.live, path.join(base, path.basename(f.as))]);
    });

    const rdb = await openDatabase(restored.databaseUrl);
    const dir = path.join(config.serverFiles, 'backups', `bench-${n}`);
    const ourRestore = await best(runs, async () => {
      fs.rmSync(restored.fileCache, { recursive: true, force: true });
      // As the restore workflow runs them: at once.
      await Promise.all([restoreDatabase(rdb, restored, dir), restoreFiles(restored, dir, path.join(config.fileCache, 'references', 'hst'))]);
    });
    const target = path.join(work, 'baseline-restore');
    const ru = new URL(restored.databaseUrl);
    const baselineRestore = await best(runs, () => {
      fs.rmSync(target, { recursive: true, force: true });
      fs.mkdirSync(target, { recursive: true });
      execFileSync('sh', ['-c', `mariadb "$@" ${ru.pathname.slice(1)} < ${base}/database.sql`, 'sh', ...client], { env: toolEnv });
      for (const f of folders) execFileSync('cp', ['-r', path.join(base, path.basename(f.as)), path.join(target, path.basename(f.as))]);
      execFileSync('cp', ['-r', path.join(config.fileCache, 'references'), path.join(target, 'references')]);
    });
    await rdb.close();
    await db.close();

    const mb = bytes / 1e6;
    const row = (what: string, s: number, b: number) => `${what.padEnd(44)} ${s.toFixed(2).padStart(7)} s ${(mb / s).toFixed(1).padStart(8)} MB/s ${(s / b).toFixed(2).padStart(6)}×`;
    console.log(`backed-up data: ${mb.toFixed(1)} MB (dump + ${folders.map((f) => f.as).join(', ')}), best of ${runs}`);
    console.log(row('backup (dump, copy with sha1s, manifest)', ours, baseline));
    console.log(row('baseline: mariadb-dump + cp -r', baseline, baseline));
    console.log(row('restore (load, copy, verify every sha1)', ourRestore, baselineRestore));
    console.log(row('baseline: mariadb < dump + cp -r', baselineRestore, baselineRestore));
  } finally {
    await origin.drop();
    await copy.drop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
