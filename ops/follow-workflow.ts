// What ops/backup, ops/restore and ops/mirror share: start the workflow (or join the one
// already running under that id), follow its `progress` query with a progress bar on the
// terminal, print its result, and exit non-zero when it fails.
import { Client, Connection, WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { SingleBar, Presets } from 'cli-progress';
import type { Duration } from '@temporalio/common';
import { config } from '../config';
import type { OpsProgress } from '../workflows/operations';
import { userMetadata, type RunDescription } from '../workflows/metadata';
import * as os from 'node:os';

export interface StartSpec {
  workflowType: string;
  workflowId: string;
  args: unknown[];
  /** Temporal UI's summary and details of the run (who is filled in: the operator at this terminal). */
  describe: Omit<RunDescription, 'who'>;
  /** Prints the result (default JSON). */
  summary?: (result: unknown) => string;
}

/** Runs `fn` with a Temporal client of the configured site, closing the connection after. */
export async function withTemporalClient<T>(fn: (client: Client) => Promise<T>, connectTimeout: Duration = '5 seconds'): Promise<T> {
  const cfg = config();
  const connection = await Connection.connect({ address: cfg.temporal.address, connectTimeout });
  try {
    return await fn(new Client({ connection, namespace: cfg.temporal.namespace }));
  } finally {
    await connection.close();
  }
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

export async function runOpsWorkflow(spec: StartSpec): Promise<number> {
  const cfg = config();
  const connection = await Connection.connect({ address: cfg.temporal.address, connectTimeout: '5 seconds' });
  try {
    const client = new Client({ connection, namespace: cfg.temporal.namespace });
    let handle: WorkflowHandle;
    try {
      handle = await client.workflow.start(spec.workflowType, {
        taskQueue: cfg.temporal.taskQueue,
        workflowId: spec.workflowId,
        args: spec.args,
        ...userMetadata({ ...spec.describe, who: `${os.userInfo().username}@${os.hostname()}` }),
      });
      process.stderr.write(`started ${spec.workflowType} ${spec.workflowId} (Temporal UI: ${cfg.temporal.uiUrl}/namespaces/${cfg.temporal.namespace}/workflows/${spec.workflowId})\n`);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      handle = client.workflow.getHandle(spec.workflowId);
      process.stderr.write(`${spec.workflowId} is already running: following it\n`);
    }
    const bar = new SingleBar(
      { format: '{phase} |{bar}| {percentage}% {done}/{total} {unit}', hideCursor: true, noTTYOutput: !process.stderr.isTTY, notTTYSchedule: 5000, stream: process.stderr },
      Presets.shades_classic,
    );
    bar.start(1, 0, { phase: 'starting', done: 0, total: 0, unit: '' });
    let finished = false;
    const poll = (async () => {
      while (!finished) {
        try {
          const p = await handle.query<OpsProgress>('progress');
          const bytes = p.bytesTotal > 0;
          const total = bytes ? p.bytesTotal : Math.max(p.filesTotal, 1);
          bar.setTotal(total);
          bar.update(bytes ? p.bytesDone : p.filesDone, {
            phase: p.phase.padEnd(12),
            done: bytes ? mb(p.bytesDone) : p.filesDone,
            total: bytes ? `${mb(p.bytesTotal)} (${p.filesDone}/${p.filesTotal} files)` : p.filesTotal,
            unit: bytes ? '' : 'files',
          });
        } catch {
          /* no worker answered yet */
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    try {
      const result = await handle.result();
      finished = true;
      await poll;
      bar.stop();
      process.stdout.write(`${spec.summary ? spec.summary(result) : JSON.stringify(result, null, 1)}\n`);
      return 0;
    } catch (err) {
      finished = true;
      await poll;
      bar.stop();
      const inner = err instanceof WorkflowFailedError ? (err.cause as (Error & { cause?: Error }) | undefined) : undefined;
      const cause = inner?.cause?.message ?? inner?.message ?? (err as Error).message;
      process.stderr.write(`${spec.workflowType} ${spec.workflowId} failed: ${cause}\n`);
      return 1;
    }
  } finally {
    await connection.close();
  }
}

/** `--name value` options and positional arguments, with the allowed option names checked. */
export function parseArgs(args: string[], valued: string[], flags: string[]): { positional: string[]; options: Record<string, string | true> } {
  const positional: string[] = [];
  const options: Record<string, string | true> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) positional.push(a);
    else if (flags.includes(a.slice(2))) options[a.slice(2)] = true;
    else if (valued.includes(a.slice(2))) {
      if (i + 1 >= args.length) throw new Error(`${a} needs a value`);
      options[a.slice(2)] = args[++i]!;
    } else throw new Error(`unknown option ${a}`);
  }
  return { positional, options };
}
