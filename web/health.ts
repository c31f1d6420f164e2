// What the home page and /health report: the site, and whether the database and Temporal
// answer right now (each check bounded, so a dead dependency cannot hang the page).
import type { AppDeps } from './app';
import type { TemporalStatus } from './temporal';

export interface HealthReport {
  status: 'ok' | 'degraded';
  observatory: string;
  usecase: string;
  database: { ok: boolean; dialect: string; url: string; error?: string };
  temporal: TemporalStatus & { uiUrl: string; taskQueue: string };
  time: string;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function healthReport({ config, db, temporal }: AppDeps): Promise<HealthReport> {
  const [dbResult, temporalStatus] = await Promise.all([
    withTimeout(db.ping(), 3000, 'the database').then(
      () => ({ ok: true }),
      (err: unknown) => ({ ok: false, error: err instanceof Error ? err.message : String(err) }),
    ),
    withTimeout(temporal.status(), 5000, 'Temporal').catch(
      (err: unknown): TemporalStatus => ({
        ok: false,
        address: temporal.address,
        namespace: temporal.namespace,
        error: err instanceof Error ? err.message : String(err),
      }),
    ),
  ]);
  return {
    status: dbResult.ok && temporalStatus.ok ? 'ok' : 'degraded',
    observatory: config.observatory,
    usecase: config.usecase,
    database: { ...dbResult, dialect: db.dialect, url: db.description },
    temporal: { ...temporalStatus, uiUrl: config.temporal.uiUrl, taskQueue: config.temporal.taskQueue },
    time: new Date().toISOString(),
  };
}

/** What anyone may see: whether the site and its parts are up, not where they are or why not. */
export function publicHealth(report: HealthReport) {
  return { status: report.status, observatory: report.observatory, database: { ok: report.database.ok }, temporal: { ok: report.temporal.ok }, time: report.time };
}
