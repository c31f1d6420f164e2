// Certify of one file in a worker thread: certifyFile is synchronous (headers, tables and the
// comparison with the reference it replaces), so run on the activity's own thread it would
// stop the heartbeats for as long as it takes. Here the activity keeps heartbeating while the
// thread works, so the certify activity can have a heartbeat timeout: a worker killed during
// certify has its activity retried within that timeout instead of the start-to-close one.
import * as path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { certifyFile, type CertifyOptions } from '../crds/certify';

export interface ThreadCertifyOptions extends Omit<CertifyOptions, 'locateReference' | 'referenceExists'> {
  /** Where the catalog's references are, for table comparisons (the thread builds locateReference). */
  referencesDir?: string;
}

export type ThreadCertifyResult = ReturnType<typeof certifyFile>;

interface Job {
  file: string;
  options: ThreadCertifyOptions;
}

/**
 * certifyFile(file, options) in a worker thread; `beat` is called every `everyMs` while it runs.
 * An abort signal (activity cancellation) terminates the thread.
 */
export function certifyInThread(file: string, options: ThreadCertifyOptions, beat: () => void, everyMs = 5_000, signal?: AbortSignal): Promise<ThreadCertifyResult> {
  // Compiled (ops/build, as ops/run runs it) the thread loads this file as it is; from the
  // sources (tests, tsx) it needs tsx's require hook first, which costs the thread ~1 s.
  const load = `require(${JSON.stringify(__filename)});`;
  const boot = __filename.endsWith('.ts') ? `require(${JSON.stringify(require.resolve('tsx/cjs'))}); ${load}` : load;
  const thread = new Worker(boot, { eval: true, workerData: { file, options } satisfies Job });
  const timer = setInterval(beat, everyMs);
  const abort = () => void thread.terminate();
  signal?.addEventListener('abort', abort);
  return new Promise<ThreadCertifyResult>((resolve, reject) => {
    thread.once('message', (m: { result?: ThreadCertifyResult; error?: { message: string; name: string; stack?: string } }) => {
      if (m.result) resolve(m.result);
      else reject(Object.assign(new Error(m.error!.message), { name: m.error!.name, stack: m.error!.stack }));
    });
    thread.once('error', reject);
    thread.once('exit', (code) => reject(new Error(signal?.aborted ? 'certify cancelled' : `certify thread exited (${code}) without a result`)));
  }).finally(() => {
    clearInterval(timer);
    signal?.removeEventListener('abort', abort);
    void thread.terminate();
  });
}

if (!isMainThread && parentPort && (workerData as Job | undefined)?.file) {
  const { file, options } = workerData as Job;
  try {
    const { referencesDir, ...rest } = options;
    const result = certifyFile(file, { ...rest, locateReference: referencesDir ? (name) => path.join(referencesDir, name) : undefined });
    parentPort.postMessage({ result });
  } catch (err) {
    const e = err as Error;
    parentPort.postMessage({ error: { message: e.message, name: e.name, stack: e.stack } });
  }
}
