// The submission workflow's site settings (issue #10): an optional expiry of READY
// submissions, how often a failing step is tried before the submission is reported failed,
// and the lease of the site-wide context-generation lock.
import { ConfigError } from './index';

type Env = Record<string, string | undefined>;

export interface SubmissionSettings {
  /** CRDS_SUBMISSION_EXPIRY: a READY submission nobody decides is cancelled after this long (ms); none: it waits (the original's behaviour). */
  expiryMs?: number;
  /** CRDS_SUBMISSION_ATTEMPTS: tries of a step failing with a non-user error before the submission fails. */
  maxAttempts: number;
  /** CRDS_CONTEXT_LOCK_LEASE: how long the context-generation lock outlives a worker that stops renewing it (ms). */
  contextLockLeaseMs: number;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "30m", "24h", "2d", "500ms" → ms; undefined when unset. */
export function duration(env: Env, name: string): number | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/i.exec(raw);
  const ms = m ? Math.round(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!) : NaN;
  if (!(ms > 0)) throw new ConfigError(`${name}=${JSON.stringify(env[name])} is not valid: expected a duration such as 90s, 30m, 24h or 2d`);
  return ms;
}

export function submissionSettings(env: Env): SubmissionSettings {
  const expiry = env.CRDS_SUBMISSION_EXPIRY?.trim().toLowerCase();
  const attempts = env.CRDS_SUBMISSION_ATTEMPTS?.trim();
  if (attempts && (!/^\d{1,3}$/.test(attempts) || Number(attempts) < 1)) {
    throw new ConfigError(`CRDS_SUBMISSION_ATTEMPTS=${JSON.stringify(env.CRDS_SUBMISSION_ATTEMPTS)} is not valid: expected a whole number from 1 to 999`);
  }
  return {
    expiryMs: expiry === 'off' || expiry === 'none' ? undefined : duration(env, 'CRDS_SUBMISSION_EXPIRY'),
    maxAttempts: attempts ? Number(attempts) : 8,
    contextLockLeaseMs: duration(env, 'CRDS_CONTEXT_LOCK_LEASE') ?? 60_000,
  };
}
