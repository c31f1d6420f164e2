// mirror_server: makes this site a copy of another running one. The source's latest backup
// comes through its token-protected endpoint (web/ops.ts, CRDS_MIRROR_TOKEN on both sites),
// references through its public downloads; every file is written under a temporary name,
// verified against the manifest's sha1 and renamed, and a file already in place with the
// right bytes is never fetched again, so a mirror killed mid-transfer resumes where it was.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Config } from '../config';
import { backupsDir, MANIFEST, type BackupManifest } from './backup';
import { matches, writeJsonAtomic } from './ops-files';

export interface MirrorEntry {
  /** The manifest's path (the dump, file_cache/…, server_files/…, config/…). */
  path: string;
  size: number;
  sha1: string;
  /** 'backup': a file of the source's backup; 'reference': straight into our file cache. */
  kind: 'backup' | 'reference';
}

export interface MirrorPlan {
  source: string;
  manifest: BackupManifest;
  /** Where the source's backup is assembled here. */
  dir: string;
  entries: MirrorEntry[];
}

export interface MirrorBatchResult {
  fetched: number;
  skipped: number;
  bytes: number;
}

/** The path the source serves its latest backup's manifest at, and its files below. */
export const MIRROR_PREFIX = '/ops/mirror';

function token(config: Config): string {
  const t = config.ops.mirrorToken;
  if (!t) throw ApplicationFailure.nonRetryable('CRDS_MIRROR_TOKEN is not set on this site: a mirror needs the token the source site shares', 'MirrorTokenMissing');
  return t;
}

function sourceUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
    return raw.replace(/\/+$/, '');
  } catch {
    throw ApplicationFailure.nonRetryable(`${JSON.stringify(raw)} is not a site URL (http://host:port)`, 'BadSourceUrl');
  }
}

async function refusedOrFailed(res: Response, what: string): Promise<never> {
  const text = (await res.text()).slice(0, 300);
  if (res.status === 401 || res.status === 403) throw ApplicationFailure.nonRetryable(`the source refused ${what} (HTTP ${res.status}): ${text}`, 'MirrorRefused');
  if (res.status === 404) throw ApplicationFailure.nonRetryable(`the source has no ${what} (HTTP 404): ${text}`, 'MirrorNotFound');
  throw new Error(`HTTP ${res.status} fetching ${what}: ${text}`);
}

/** Streams `url` into `target` through a temporary file, verified against `entry` before the rename. */
async function fetchVerified(url: string, headers: Record<string, string>, target: string, entry: MirrorEntry): Promise<Response | undefined> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(3600_000) });
  if (res.status !== 200 || !res.body) return res;
  const tmp = `${target}.mirror-${process.pid}`;
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const hash = createHash('sha1');
  let size = 0;
  await pipeline(
    Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        hash.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    },
    fs.createWriteStream(tmp),
  );
  const sha1 = hash.digest('hex');
  if (size !== entry.size || sha1 !== entry.sha1) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`${entry.path} from ${url}: ${size} bytes, sha1 ${sha1}; the source's manifest says ${entry.size} bytes, sha1 ${entry.sha1}`);
  }
  fs.renameSync(tmp, target);
  return undefined;
}

export function createMirrorActivities(deps: { config: Config }) {
  const { config } = deps;
  const localPath = (plan: Pick<MirrorPlan, 'dir'>, e: MirrorEntry): string =>
    e.kind === 'reference' ? path.join(config.fileCache, 'references', config.observatory, path.basename(e.path)) : path.join(plan.dir, e.path);
  return {
    /** The source's latest backup manifest, and what must be fetched. Refused without the token. */
    async mirrorPlan(input: { source: string }): Promise<MirrorPlan> {
      const source = sourceUrl(input.source);
      const res = await fetch(`${source}${MIRROR_PREFIX}/manifest.json`, { headers: { authorization: `Bearer ${token(config)}` }, signal: AbortSignal.timeout(60_000) });
      if (res.status !== 200) await refusedOrFailed(res, 'its backup manifest');
      const manifest = (await res.json()) as BackupManifest;
      if (manifest.format !== 1 || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(manifest.name)) throw ApplicationFailure.nonRetryable('the source sent a manifest this site does not understand', 'BadManifest');
      if (manifest.observatory !== config.observatory) {
        throw ApplicationFailure.nonRetryable(`the source serves ${manifest.observatory}; this site serves ${config.observatory}`, 'ObservatoryMismatch');
      }
      const dir = path.join(backupsDir(config), `mirror-${manifest.name}`);
      const entries: MirrorEntry[] = [
        { ...manifest.database, kind: 'backup' },
        ...manifest.files.map((f) => ({ ...f, kind: 'backup' as const })),
        ...manifest.references.map((f) => ({ ...f, kind: 'reference' as const })),
      ];
      for (const e of entries) {
        if (e.path.split('/').some((p) => p === '..' || p === '' || p === '.')) throw ApplicationFailure.nonRetryable(`unsafe path in the source's manifest: ${e.path}`, 'BadManifest');
      }
      return { source, manifest, dir, entries };
    },

    /** Fetches one batch; files already in place with the right bytes are not fetched again. */
    async mirrorFetch(input: { source: string; backupName: string; dir: string; entries: MirrorEntry[] }): Promise<MirrorBatchResult> {
      const auth = { authorization: `Bearer ${token(config)}` };
      const out: MirrorBatchResult = { fetched: 0, skipped: 0, bytes: 0 };
      for (const e of input.entries) {
        const target = localPath(input, e);
        if (await matches(target, e)) {
          out.skipped++;
          continue;
        }
        const name = path.basename(e.path);
        let res: Response | undefined;
        if (e.kind === 'reference') {
          res = await fetchVerified(`${input.source}/unchecked_get/references/${config.observatory}/${encodeURIComponent(name)}`, {}, target, e);
          // Not distributable there (still being delivered): through the mirror endpoint.
          if (res?.status === 404) res = await fetchVerified(`${input.source}${MIRROR_PREFIX}/references/${encodeURIComponent(name)}`, auth, target, e);
        } else {
          const url = `${input.source}${MIRROR_PREFIX}/backups/${encodeURIComponent(input.backupName)}/${e.path.split('/').map(encodeURIComponent).join('/')}`;
          res = await fetchVerified(url, auth, target, e);
        }
        if (res) await refusedOrFailed(res, e.path);
        out.fetched++;
        out.bytes += e.size;
        Context.current().heartbeat(out);
      }
      return out;
    },

    /** Marks the assembled backup complete (its manifest written last), ready for the restore. */
    async mirrorComplete(input: { dir: string; manifest: BackupManifest }): Promise<void> {
      writeJsonAtomic(path.join(input.dir, MANIFEST), input.manifest);
    },
  };
}

export type MirrorActivities = ReturnType<typeof createMirrorActivities>;
