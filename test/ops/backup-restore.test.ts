// Backup → restore into a fresh database and empty folders, through the workflows on the real
// worker code and Temporal, on both dialects: every table row by row and every file by sha1
// identical, and the real `crds` client syncs the same context from the restored site.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BackupSummary, BackupManifest } from '../../activities/backup';
import type { RestoreResult } from '../../workflows/operations';
import { digestFile, walkFiles } from '../../activities/ops-files';
import { catalogGeneration } from '../../db/catalog';
import { crds, run } from '../jsonrpc/site';
import { REPO_ROOT } from '../support/paths';
import { uniqueName } from '../support/services';
import { CONTEXTS, crossDialectRows, siteFiles, startOpsSite, subsetCache, tableRows, type OpsSite } from './ops-site';

jest.setTimeout(300_000);

let source: string;
beforeAll(() => {
  source = subsetCache();
});
afterAll(() => fs.rmSync(source, { recursive: true, force: true }));

describe.each([['MariaDB', 'mysql' as const], ['SQLite', 'sqlite' as const]])('backup and restore on %s', (_label, dialect) => {
  let origin: OpsSite;
  let restored: OpsSite;
  let backup: BackupSummary;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-restore-test-'));

  beforeAll(async () => {
    origin = await startOpsSite('origin', { dialect, source, env: { CRDS_BACKUP_KEEP: '2' } });
    restored = await startOpsSite('restored', { dialect });
    // A delivery in flight: its catalog and the hard link the archive will pick up.
    const { serverFiles, fileCache } = origin.config;
    fs.mkdirSync(path.join(serverFiles, 'catalogs'), { recursive: true });
    fs.mkdirSync(path.join(serverFiles, 'deliveries'), { recursive: true });
    fs.writeFileSync(path.join(serverFiles, 'catalogs', 'opus_1_i.cat'), 'z1r1943el_1dx.fits\n');
    fs.copyFileSync(path.join(serverFiles, 'catalogs', 'opus_1_i.cat'), path.join(serverFiles, 'deliveries', 'opus_1_i.cat'));
    fs.linkSync(path.join(fileCache, 'references', 'hst', 'z1r1943el_1dx.fits'), path.join(serverFiles, 'deliveries', 'z1r1943el_1dx.fits'));
  });
  afterAll(async () => {
    await restored?.close();
    await origin?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('backs up: a dump, the mappings and folders copied with sha1s, references listed, latest moved, old backups pruned', async () => {
    const run = (name: string) =>
      origin.client.workflow.execute<(i: { name: string }) => Promise<BackupSummary>>('backupWorkflow', { taskQueue: origin.config.temporal.taskQueue, workflowId: uniqueName('backup'), args: [{ name }] });
    await run('2026-01-01T03-05-00Z');
    await run('2026-01-02T03-05-00Z');
    backup = await run('2026-01-03T03-05-00Z');
    const root = path.join(origin.config.serverFiles, 'backups');
    expect(fs.readlinkSync(path.join(root, 'latest'))).toBe('2026-01-03T03-05-00Z');
    expect(backup.pruned).toEqual(['2026-01-01T03-05-00Z']); // CRDS_BACKUP_KEEP=2
    expect(fs.readdirSync(root).sort()).toEqual(['2026-01-02T03-05-00Z', '2026-01-03T03-05-00Z', 'latest']);
    const manifest = JSON.parse(fs.readFileSync(path.join(backup.dir, 'manifest.json'), 'utf8')) as BackupManifest;
    const mappings = walkFiles(path.join(origin.config.fileCache, 'mappings', 'hst'));
    expect(manifest.files.filter((f) => f.path.startsWith('file_cache/mappings/hst/')).map((f) => f.path.split('/').pop())).toEqual(mappings);
    for (const f of manifest.files) expect(await digestFile(path.join(backup.dir, f.path))).toEqual({ size: f.size, sha1: f.sha1 });
    expect(manifest.files.map((f) => f.path)).toEqual(expect.arrayContaining(['server_files/catalogs/opus_1_i.cat', 'server_files/deliveries/z1r1943el_1dx.fits', 'config/site.json']));
    // References are listed with their catalogued sha1, not copied.
    expect(manifest.references.map((r) => r.path.split('/').pop()).sort()).toEqual(walkFiles(path.join(origin.config.fileCache, 'references', 'hst')));
    expect(fs.existsSync(path.join(backup.dir, 'file_cache', 'references'))).toBe(false);
    expect(fs.readFileSync(path.join(backup.dir, 'config', 'site.json'), 'utf8')).not.toContain('CRDS_SECRET');
  });

  it('restores into a fresh database and empty folders: identical tables and files', async () => {
    // Without the references the restore stops, names what is missing, and keeps the site closed.
    const refused = restored.client.workflow.execute('restoreWorkflow', { taskQueue: restored.config.temporal.taskQueue, workflowId: uniqueName('restore'), args: [{ backup: backup.dir }] });
    await expect(refused).rejects.toThrow();
    const failure = await refused.catch((e: { cause?: { message?: string } }) => e.cause?.message ?? '');
    expect(failure).toMatch(/references missing \(.*z1r1943el_1dx\.fits/);
    expect((await fetch(`${restored.url}/`)).status).toBe(503);

    const generations = [await catalogGeneration(restored.db), await catalogGeneration(origin.db)];
    const result = await restored.client.workflow.execute<(i: object) => Promise<RestoreResult>>('restoreWorkflow', {
      taskQueue: restored.config.temporal.taskQueue,
      workflowId: uniqueName('restore'),
      args: [{ backup: backup.dir, referencesFrom: path.join(origin.config.fileCache, 'references', 'hst') }],
    });
    expect(result.files.failed).toEqual([]);
    expect(result.files.missing).toEqual([]);
    expect(result.orphans).toEqual([]);
    // The web looks at the maintenance state at most every 500 ms: it reopens within a second.
    let status = 0;
    for (const until = Date.now() + 5000; Date.now() < until && status !== 200; await new Promise((r) => setTimeout(r, 200))) status = (await fetch(`${restored.url}/`)).status;
    expect(status).toBe(200);
    expect(await tableRows(restored.db)).toEqual(await tableRows(origin.db));
    // Past the site's own generation and the dump's: no page a web cached before is served again.
    expect(await catalogGeneration(restored.db)).toBe(Math.max(...generations) + 1);
    expect(await siteFiles(restored.config)).toEqual(await siteFiles(origin.config));
  });

  (dialect === 'mysql' ? it : it.skip)('ops/backup and ops/restore follow their workflows and exit non-zero on failure', async () => {
    const ok = await run(path.join(REPO_ROOT, 'ops', 'backup'), ['--name', 'by-hand'], origin.env);
    expect(ok.stdout).toMatch(/^backup by-hand: \d+ files, [\d.]+ MB copied, 5 references listed/);
    expect(ok.status).toBe(0);
    expect(fs.existsSync(path.join(origin.config.serverFiles, 'backups', 'by-hand', 'manifest.json'))).toBe(true);
    // Temporal UI names the run and the operator who started it.
    const started = origin.client.workflow.getHandle('backup-hst-by-hand');
    expect(await (await started.describe()).staticSummary()).toMatch(/^ops\/backup: backup by-hand of hst \(\S+@\S+\)$/);
    const bad = await run(path.join(REPO_ROOT, 'ops', 'restore'), ['no-such-backup'], restored.env);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('is not a complete backup: it has no manifest.json');
  });

  it('restores into a site on the other dialect: the same rows and files', async () => {
    const other = await startOpsSite('crossrestore', { dialect: dialect === 'mysql' ? 'sqlite' : 'mysql' });
    try {
      const result = await other.client.workflow.execute<(i: object) => Promise<RestoreResult>>('restoreWorkflow', {
        taskQueue: other.config.temporal.taskQueue,
        workflowId: uniqueName('crossrestore'),
        args: [{ backup: backup.dir, referencesFrom: path.join(origin.config.fileCache, 'references', 'hst') }],
      });
      expect(result.files.failed).toEqual([]);
      expect(crossDialectRows(await tableRows(other.db))).toEqual(crossDialectRows(await tableRows(origin.db)));
      expect(await siteFiles(other.config)).toEqual(await siteFiles(origin.config));
      // The catalog answers as the origin's does.
      const rpc = async (url: string, method: string, params: unknown[]) =>
        ((await (await fetch(`${url}/json/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '1.0', id: 1, method, params }) })).json()) as { result: unknown }).result;
      expect(await rpc(other.url, 'get_context_history', ['hst'])).toEqual(await rpc(origin.url, 'get_context_history', ['hst']));
      expect(await rpc(other.url, 'get_file_info_map', ['hst', [], ['sha1sum', 'delivery_date', 'useafter_date']])).toEqual(
        await rpc(origin.url, 'get_file_info_map', ['hst', [], ['sha1sum', 'delivery_date', 'useafter_date']]),
      );
    } finally {
      await other.close();
    }
  });

  it('serves the same context to the real crds client after the restore', async () => {
    const cache = path.join(work, 'client-cache');
    // The mappings of the context, and the references this subset holds.
    const references = walkFiles(path.join(origin.config.fileCache, 'references', 'hst'));
    const mappings = await crds(restored as never, cache, ['sync', '--contexts', CONTEXTS[1]!]);
    expect(mappings.status).toBe(0);
    const r = await crds(restored as never, cache, ['sync', '--files', ...references]);
    expect(r.status).toBe(0);
    // The client files references by instrument or flat, as the site's config says.
    const fetched = new Map(walkFiles(path.join(cache, 'references', 'hst')).map((rel) => [path.basename(rel), rel]));
    expect([...fetched.keys()].sort()).toEqual(references);
    for (const name of references) {
      expect((await digestFile(path.join(cache, 'references', 'hst', fetched.get(name)!))).sha1).toBe((await digestFile(path.join(origin.config.fileCache, 'references', 'hst', name))).sha1);
    }
    const synced = walkFiles(path.join(cache, 'mappings', 'hst'));
    expect(synced.length).toBeGreaterThan(100);
    for (const name of synced) {
      expect((await digestFile(path.join(cache, 'mappings', 'hst', name))).sha1).toBe((await digestFile(path.join(origin.config.fileCache, 'mappings', 'hst', name))).sha1);
    }
  });
});
