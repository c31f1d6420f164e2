// Site configuration: one observatory (hst, jwst, ...) × one use (local, dev, test, ops),
// read once from the environment into a typed, frozen object. Every value is checked
// here so that a typo fails at start-up with a message naming the variable, not later
// as a puzzling connection error.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { submissionSettings, type SubmissionSettings } from './submission';
import { opsConfig, type OpsConfig } from './ops';

export const OBSERVATORIES = ['hst', 'jwst', 'roman', 'tobs'] as const;
export type Observatory = (typeof OBSERVATORIES)[number];

export const USECASES = ['local', 'dev', 'test', 'ops'] as const;
export type Usecase = (typeof USECASES)[number];

export interface Config {
  observatory: Observatory;
  usecase: Usecase;
  /** `sqlite:<path>` (embedded default) or `mysql://user:pass@host:port/db`. */
  databaseUrl: string;
  temporal: {
    /** host:port of the Temporal frontend. */
    address: string;
    namespace: string;
    taskQueue: string;
    /** Where operators find Temporal UI (linked from the home page). */
    uiUrl: string;
  };
  /** Root of the server's own files: uploads, ingest, deliveries, catalogs, backups. */
  serverFiles: string;
  /** The CRDS file cache the server serves from (mappings/<obs>, references/<obs>). */
  fileCache: string;
  /** The read-only cache the sync-ops-to-grp schedule publishes into (CRDS_PUBLISH_DIR); none: no publishing. */
  publishDir?: string;
  /** Type specs and constraint files for certify, <dir>/<obs>/{specs,tpns} (CRDS_SPECS_DIR; local default: the demo site's). */
  specsDir?: string;
  port: number;
  /** The URL users reach the server at (mail links, client instructions). */
  siteUrl: string;
  /** Signs session cookies (CRDS_SECRET_KEY). Unset: a local site keeps one in secretKeyFile; others refuse to start the web. */
  secretKey?: string;
  secretKeyFile: string;
  /** Largest accepted upload of one file, in bytes (CRDS_MAX_UPLOAD_BYTES). */
  maxUploadBytes: number;
  /** Submission mail (the original's CRDS_STATUS_*_ADDRESSES); no smtpUrl: mail is logged and skipped. */
  mail: {
    smtpUrl?: string;
    from: string;
    /** Everyone told about every submission, besides the submitter. */
    to: string[];
    /** Who gets each context change's affected datasets (CRDS_REPROCESSING_MAIL_TO; the original's crds_<obs>_<use>_reprocessing list). */
    reprocessingTo: string[];
    /** Who gets each ReDCaT record (CRDS_REDCAT_MAIL_TO), besides the submitter and the record's other_email. */
    redcatTo: string[];
  };
  /** Submission expiry, retry bound and context-lock lease (config/submission.ts). */
  submission: SubmissionSettings;
  /** Nightly, backup, restore and mirror settings (config/ops.ts). */
  ops: OpsConfig;
  /** Hardening settings (issue 13): sessions, login throttling, upload quotas and clean-up. */
  security: SecuritySettings;
  /** Affected-datasets results, one folder per transition (CRDS_REPROCESSING_DIR; default <CRDS_SERVER_FILES>/reprocessing). */
  reprocessingDir: string;
}

export interface SecuritySettings {
  /** A web session unused this long ends (CRDS_SESSION_IDLE_MINUTES, default 240). */
  sessionIdleMs: number;
  /** Failed logins allowed per account, and per client address, within loginWindowMs (CRDS_LOGIN_FAILURES_PER_ACCOUNT 10, CRDS_LOGIN_FAILURES_PER_ADDRESS 50). */
  loginFailuresPerAccount: number;
  loginFailuresPerAddress: number;
  /** CRDS_LOGIN_WINDOW_MINUTES, default 15. */
  loginWindowMs: number;
  /** Password hashes computed at once (CRDS_PASSWORD_HASHING, default 2): the rest wait, so logins cannot take the thread pool downloads use. */
  passwordHashing: number;
  /** Reverse proxies in front of the web whose X-Forwarded-For is believed (CRDS_TRUST_PROXY, default 0). */
  trustProxy: number;
  /** Bytes one user may hold in uploads and the ingest folder (CRDS_USER_QUOTA_BYTES, default 64 GiB). */
  userQuotaBytes: number;
  /** Files one user may hold in the ingest folder (CRDS_USER_QUOTA_FILES, default 1000). */
  userQuotaFiles: number;
  /** Partial uploads and temporaries untouched this long are removed (CRDS_UPLOAD_MAX_AGE_HOURS, default 24). */
  abandonedUploadMs: number;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/**
 * The repository root (default locations of the embedded site live under `var/`): the
 * nearest folder above holding package.json, so the compiled copy in build/ (ops/build)
 * finds the same root as the sources.
 */
export const REPO_ROOT = ((): string => {
  for (let dir = path.resolve(__dirname, '..'); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(__dirname, '..');
  }
})();

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = raw.trim().toLowerCase();
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is not valid: expected one of ${allowed.join(', ')}`);
  }
  return value as T;
}

function port(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1 || Number(raw) > 65535) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is not valid: expected a port number from 1 to 65535`);
  }
  return Number(raw);
}

/** Where the embedded site keeps its state (catalog, Temporal state, logs): CRDS_VAR_DIR or var/. */
function varDir(env: Env): string {
  return env.CRDS_VAR_DIR ? path.resolve(env.CRDS_VAR_DIR) : path.join(REPO_ROOT, 'var');
}

function databaseUrl(env: Env, required: boolean): string {
  const raw = env.CRDS_DATABASE_URL;
  if (raw === undefined || raw === '') {
    if (required) {
      throw new ConfigError('CRDS_DATABASE_URL is missing: a server that is not local needs mysql://user:password@host:port/database');
    }
    return `sqlite:${path.join(varDir(env), 'crds.sqlite')}`;
  }
  if (raw.startsWith('sqlite:')) {
    if (raw.length === 'sqlite:'.length) throw new ConfigError('CRDS_DATABASE_URL=sqlite: names no file: expected sqlite:<path> or sqlite::memory:');
    return raw;
  }
  if (/^(mysql|mariadb):\/\//.test(raw)) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ConfigError(`CRDS_DATABASE_URL=${JSON.stringify(redact(raw))} is not a valid URL`);
    }
    if (!url.hostname || url.pathname.length <= 1) {
      throw new ConfigError(`CRDS_DATABASE_URL=${JSON.stringify(redact(raw))} must name a host and a database: mysql://user:password@host:port/database`);
    }
    return raw;
  }
  throw new ConfigError(`CRDS_DATABASE_URL=${JSON.stringify(redact(raw))} is not valid: expected sqlite:<path> or mysql://user:password@host:port/database`);
}

/** Hides a password in a database URL before it goes into a message or a page. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

function hostPort(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$/.test(raw.trim())) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is not valid: expected host:port, for example localhost:7233`);
  }
  return raw.trim();
}

function absoluteUrl(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  try {
    const url = new URL(raw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error();
  } catch {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is not valid: expected an http(s) URL`);
  }
  return raw.replace(/\/+$/, '');
}

function folder(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw.includes('\0')) throw new ConfigError(`${name} contains a NUL character`);
  return path.resolve(raw);
}

function smtpUrl(env: Env): string | undefined {
  const raw = env.CRDS_SMTP_URL;
  if (raw === undefined || raw.trim() === '') return undefined;
  try {
    const url = new URL(raw.trim());
    if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw new Error();
  } catch {
    throw new ConfigError(`CRDS_SMTP_URL=${JSON.stringify(redact(raw))} is not valid: expected smtp://[user:password@]host:port or smtps://...`);
  }
  return raw.trim();
}

/** A comma-separated list of plain addresses (user@host). */
function mailAddresses(env: Env, name: string, fallback: string): string[] {
  const raw = env[name] === undefined || env[name] === '' ? fallback : env[name]!;
  const list = raw.split(',').map((a) => a.trim()).filter(Boolean);
  for (const a of list) {
    if (!/^[^\s@,<>]+@[^\s@,<>]+$/.test(a)) throw new ConfigError(`${name}=${JSON.stringify(raw)} is not valid: ${JSON.stringify(a)} is not an address like user@host`);
  }
  return list;
}

function secretKey(env: Env): string | undefined {
  const raw = env.CRDS_SECRET_KEY;
  if (raw === undefined || raw === '') return undefined;
  if (raw.length < 32) throw new ConfigError('CRDS_SECRET_KEY is too short: it needs at least 32 characters (for example `openssl rand -hex 32`)');
  return raw;
}

function byteCount(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1 || !Number.isSafeInteger(Number(raw))) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is not valid: expected a number of bytes`);
  }
  return Number(raw);
}

function positiveInteger(env: Env, name: string, fallback: number, what: string): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1 || !Number.isSafeInteger(Number(raw))) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is not valid: expected a positive whole number of ${what}`);
  }
  return Number(raw);
}

function securitySettings(env: Env): SecuritySettings {
  const minutes = (name: string, fallback: number) => positiveInteger(env, name, fallback, 'minutes') * 60_000;
  const trustProxy = env.CRDS_TRUST_PROXY === '0' ? 0 : positiveInteger(env, 'CRDS_TRUST_PROXY', 0, 'proxies');
  return {
    sessionIdleMs: minutes('CRDS_SESSION_IDLE_MINUTES', 240),
    loginFailuresPerAccount: positiveInteger(env, 'CRDS_LOGIN_FAILURES_PER_ACCOUNT', 10, 'failed logins'),
    loginFailuresPerAddress: positiveInteger(env, 'CRDS_LOGIN_FAILURES_PER_ADDRESS', 50, 'failed logins'),
    loginWindowMs: minutes('CRDS_LOGIN_WINDOW_MINUTES', 15),
    passwordHashing: positiveInteger(env, 'CRDS_PASSWORD_HASHING', 2, 'hashes'),
    trustProxy,
    userQuotaBytes: byteCount(env, 'CRDS_USER_QUOTA_BYTES', 64 * 1024 ** 3),
    userQuotaFiles: positiveInteger(env, 'CRDS_USER_QUOTA_FILES', 1000, 'files'),
    abandonedUploadMs: positiveInteger(env, 'CRDS_UPLOAD_MAX_AGE_HOURS', 24, 'hours') * 3_600_000,
  };
}

/** Reads and checks the configuration; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const observatory = oneOf(env, 'CRDS_OBSERVATORY', OBSERVATORIES, 'hst');
  const usecase = oneOf(env, 'CRDS_USECASE', USECASES, 'local');
  // Only the embedded local site may fall back to SQLite and a local Temporal silently.
  const shared = usecase !== 'local';
  if (shared && !env.TEMPORAL_ADDRESS) {
    throw new ConfigError(`TEMPORAL_ADDRESS is missing: CRDS_USECASE=${usecase} needs the host:port of its Temporal server`);
  }
  const listenPort = port(env, 'PORT', 8000);
  const config: Config = {
    observatory,
    usecase,
    databaseUrl: databaseUrl(env, shared),
    temporal: {
      address: hostPort(env, 'TEMPORAL_ADDRESS', 'localhost:7233'),
      namespace: env.TEMPORAL_NAMESPACE || 'default',
      taskQueue: env.CRDS_TASK_QUEUE || `crds-${observatory}`,
      uiUrl: absoluteUrl(env, 'TEMPORAL_UI_URL', 'http://localhost:8233'),
    },
    serverFiles: folder(env, 'CRDS_SERVER_FILES', path.join(varDir(env), 'server_files')),
    fileCache: folder(env, 'CRDS_FILE_CACHE', path.join(varDir(env), 'file_cache')),
    publishDir: env.CRDS_PUBLISH_DIR ? folder(env, 'CRDS_PUBLISH_DIR', '') : undefined,
    specsDir: shared ? (env.CRDS_SPECS_DIR ? folder(env, 'CRDS_SPECS_DIR', '') : undefined) : folder(env, 'CRDS_SPECS_DIR', path.join(REPO_ROOT, 'config', 'demo', 'specs')),
    port: listenPort,
    siteUrl: absoluteUrl(env, 'CRDS_SITE_URL', `http://localhost:${listenPort}`),
    secretKey: secretKey(env),
    secretKeyFile: path.join(varDir(env), 'secret_key'),
    maxUploadBytes: byteCount(env, 'CRDS_MAX_UPLOAD_BYTES', 16 * 1024 ** 3),
    mail: {
      smtpUrl: smtpUrl(env),
      from: mailAddresses(env, 'CRDS_MAIL_FROM', 'crds-servers@localhost')[0]!,
      to: mailAddresses(env, 'CRDS_MAIL_TO', ''),
      reprocessingTo: mailAddresses(env, 'CRDS_REPROCESSING_MAIL_TO', ''),
      redcatTo: mailAddresses(env, 'CRDS_REDCAT_MAIL_TO', ''),
    },
    submission: submissionSettings(env),
    ops: opsConfig(env, mailAddresses),
    security: securitySettings(env),
    reprocessingDir: env.CRDS_REPROCESSING_DIR ? path.resolve(env.CRDS_REPROCESSING_DIR) : path.join(folder(env, 'CRDS_SERVER_FILES', path.join(varDir(env), 'server_files')), 'reprocessing'),
  };
  return deepFreeze(config);
}

function deepFreeze<T extends object>(value: T): T {
  for (const v of Object.values(value)) if (v && typeof v === 'object') deepFreeze(v);
  return Object.freeze(value);
}

let cached: Config | undefined;
/** The process-wide configuration, read on first use. */
export function config(): Config {
  cached ??= loadConfig();
  return cached;
}
