// Settings of the operations flows (nightly, backup, restore, mirror), read with the rest of
// the configuration (config/index.ts) and checked the same way: a bad value stops the process
// with a message naming the variable.
import { ConfigError } from './index';

export interface OpsConfig {
  /** Who gets the nightly diagnostics mail (CRDS_OPS_MAIL_TO); empty: stored, not mailed. */
  mailTo: string[];
  /** Complete backups kept in <server files>/backups (CRDS_BACKUP_KEEP, default 7). */
  backupKeep: number;
  /** Shared secret of mirror sites (CRDS_MIRROR_TOKEN); unset: the mirror endpoint is closed. */
  mirrorToken?: string;
  /** Every file's sha1 is verified once over this many nights (CRDS_CHECK_SHA1_NIGHTS, default 7). */
  sha1Nights: number;
  /** Uploads and ingest files older than this many days are reported (CRDS_STALE_DAYS, default 7). */
  staleDays: number;
  /** dev/test sites: the nightly also installs, tests and restarts (CRDS_NIGHTLY_REBUILD=1). */
  nightlyRebuild: boolean;
  /** What the rebuild's `ops/runtests` runs (CRDS_NIGHTLY_REBUILD_TESTS: its arguments; default every test). */
  nightlyRebuildTests: string[];
  /** The site's time zone for the nightly schedule (CRDS_TIMEZONE, IANA name, default UTC). */
  timezone: string;
}

type Env = Record<string, string | undefined>;

function count(env: Env, name: string, fallback: number, min = 1): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > 100_000) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is not valid: expected a whole number from ${min}`);
  }
  return Number(raw);
}

function timezone(env: Env): string {
  const raw = env.CRDS_TIMEZONE;
  if (raw === undefined || raw === '') return 'UTC';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: raw });
  } catch {
    throw new ConfigError(`CRDS_TIMEZONE=${JSON.stringify(raw)} is not valid: expected an IANA time zone such as America/New_York`);
  }
  return raw;
}

export function opsConfig(env: Env, mailAddresses: (env: Env, name: string, fallback: string) => string[]): OpsConfig {
  const token = env.CRDS_MIRROR_TOKEN;
  if (token !== undefined && token !== '' && token.length < 16) {
    throw new ConfigError('CRDS_MIRROR_TOKEN is too short: it needs at least 16 characters (for example `openssl rand -hex 24`)');
  }
  const rebuild = env.CRDS_NIGHTLY_REBUILD ?? '';
  if (!['', '0', '1'].includes(rebuild)) throw new ConfigError(`CRDS_NIGHTLY_REBUILD=${JSON.stringify(rebuild)} is not valid: expected 0 or 1`);
  return {
    mailTo: mailAddresses(env, 'CRDS_OPS_MAIL_TO', ''),
    backupKeep: count(env, 'CRDS_BACKUP_KEEP', 7),
    mirrorToken: token || undefined,
    sha1Nights: count(env, 'CRDS_CHECK_SHA1_NIGHTS', 7),
    staleDays: count(env, 'CRDS_STALE_DAYS', 7, 0),
    nightlyRebuild: rebuild === '1',
    nightlyRebuildTests: (env.CRDS_NIGHTLY_REBUILD_TESTS ?? '').split(/\s+/).filter(Boolean),
    timezone: timezone(env),
  };
}
