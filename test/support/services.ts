// The real services the integration tests talk to, started by ops/runtests: a throwaway
// MariaDB (each test file gets a database of its own in it) and a Temporal dev server.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { createConnection } from 'mysql2/promise';
import { REPO_ROOT } from './paths';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the integration tests through ops/runtests, which starts the services`);
  return value;
}

export const temporalAddress = (): string => required('TEMPORAL_ADDRESS');

/** A unique suffix for names of databases, task queues and workflow ids. */
export const uniqueName = (prefix: string): string => `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** Creates an empty MariaDB database for one test file. */
export async function freshMysqlDatabase(prefix: string, serverUrl?: string): Promise<TestDatabase> {
  const server = (serverUrl ?? required('CRDS_TEST_MYSQL_URL')).replace(/\/$/, '');
  const name = uniqueName(`crds_${prefix}`).replace(/[^A-Za-z0-9_]/g, '_');
  const admin = await createConnection(server);
  await admin.query(`CREATE DATABASE \`${name}\``);
  await admin.end();
  return {
    url: `${server}/${name}`,
    drop: async () => {
      const c = await createConnection(server);
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await c.end();
    },
  };
}

/** A fresh SQLite file in a temporary folder (removed by `drop`). */
export function freshSqliteDatabase(): TestDatabase {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-sqlite-'));
  return {
    url: `sqlite:${path.join(dir, 'crds.sqlite')}`,
    drop: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Registers a Temporal namespace of its own for a test file, so that schedules (whose ids
 * are fixed, like `clear-expired-locks`) and workflows of different files never meet.
 * Resolves once the namespace accepts calls.
 */
export async function freshNamespace(prefix: string, address = temporalAddress()): Promise<string> {
  const { Connection } = await import('@temporalio/client');
  const { msToTs } = await import('@temporalio/common/lib/time');
  const namespace = uniqueName(prefix).replace(/_/g, '-');
  const connection = await Connection.connect({ address });
  try {
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await connection.workflowService.listSchedules({ namespace, maximumPageSize: 1 });
        return namespace;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  } finally {
    await connection.close();
  }
}

export interface ThrowawayMariadb {
  /** `mysql://crds:crds@127.0.0.1:PORT`, the same across restarts. */
  url: string;
  /** Starts it again on the same data folder and port. */
  start(): Promise<void>;
  /** A clean shutdown (TERM), waiting for the server to end. */
  stop(): Promise<void>;
  /** Stops it and removes its folder. */
  remove(): Promise<void>;
}

/**
 * A MariaDB server of a test's own, for tests that stop and restart it (ops/runtests' one is
 * shared by every file): ops/throwaway-mariadb, the same script ops/runtests and
 * bench/submission use, on a folder under os.tmpdir(). `mariadbdOptions` override its defaults.
 */
export async function startThrowawayMariadb(mariadbdOptions: string[] = []): Promise<ThrowawayMariadb> {
  const script = path.join(REPO_ROOT, 'ops', 'throwaway-mariadb');
  const run = promisify(execFile);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-mariadb-'));
  const start = async (port?: string) => (await run(script, ['start', dir, ...(port ? [port] : []), '--', ...mariadbdOptions])).stdout.trim();
  const stop = async () => void (await run(script, ['stop', dir]));
  const url = await start();
  return {
    url,
    start: async () => void (await start(url.split(':').pop())),
    stop,
    remove: async () => {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ThrowawayTemporal {
  /** `127.0.0.1:PORT`, the same across restarts. */
  address: string;
  /** Starts it again on the same state file and ports. */
  start(): Promise<void>;
  /** Stops it (TERM), waiting for the server to end. */
  stop(): Promise<void>;
  /** Stops it and removes its folder. */
  remove(): Promise<void>;
}

/**
 * A Temporal dev server of a test's own that keeps its state in a SQLite file, for tests that
 * stop and restart it (ops/runtests' one is in memory and shared by every file):
 * ops/throwaway-temporal --keep-state, the script ops/runtests and bench/submission use.
 */
export async function startThrowawayTemporal(): Promise<ThrowawayTemporal> {
  const script = path.join(REPO_ROOT, 'ops', 'throwaway-temporal');
  const run = promisify(execFile);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-temporal-'));
  const start = async () => (await run(script, ['start', dir, '--keep-state'])).stdout.trim();
  const stop = async () => void (await run(script, ['stop', dir]));
  const address = await start();
  return {
    address,
    start: async () => void (await start()),
    stop,
    remove: async () => {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
