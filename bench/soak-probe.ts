// The soak's get_best_references clients, on a thread of their own (bench/soak.ts starts it):
// the latency of best references is timed by an event loop that does nothing else, so the
// figure is the web's, not that of the load generator's own work (building 1 MB uploads,
// reading downloads), which shares the soak's main thread.
import * as http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';

/**
 * One request on node:http with kept-alive connections: a load generator lighter than fetch,
 * whose web streams and per-response buffers cost the soak more CPU and GC than the web it
 * loads. Bodies of `discard` answers are counted, not kept.
 */
export function request(agent: http.Agent, url: string, r: { method?: string; body?: string; discard?: boolean }): Promise<{ status: number; text: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent, method: r.method ?? 'GET', timeout: 10_000, headers: r.body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(r.body) } }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (c: Buffer) => (r.discard ? (bytes += c.length) : chunks.push(c)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: r.discard ? String(bytes) : Buffer.concat(chunks).toString('utf8'), ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(r.body);
  });
}

export interface ProbeRequest {
  url: string;
  /** Request bodies, sent in turn. */
  bodies: string[];
  clients: number;
  /** Calls per second of all clients together, paced. */
  rate: number;
  durationMs: number;
}

export interface ProbeResult {
  ms: number[];
  failures: string[];
  /** This thread's own event loop delay, p99 and max (ms): a busy machine shows here too. */
  loopP99: number;
  loopMax: number;
}

async function probe({ url, bodies, clients, rate, durationMs }: ProbeRequest): Promise<ProbeResult> {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const ms: number[] = [];
  const failures: string[] = [];
  const end = Date.now() + durationMs;
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  let n = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const interval = (clients * 1000) / rate;
      const start = Date.now() + (c * interval) / clients;
      for (let i = 0; Date.now() < end; i++) {
        const wait = start + i * interval - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const body = bodies[n++ % bodies.length]!;
        try {
          const res = await request(agent, `${url}/json/`, { method: 'POST', body });
          ms.push(res.ms);
          if (res.status !== 200 || (JSON.parse(res.text) as { error: unknown }).error !== null) failures.push(`bestrefs: ${res.status} ${res.text.slice(0, 200)}`);
        } catch (e) {
          failures.push(`bestrefs: ${(e as Error).message}`);
        }
      }
    }),
  );
  loop.disable();
  agent.destroy();
  return { ms, failures, loopP99: loop.percentile(99) / 1e6, loopMax: loop.max / 1e6 };
}

if (parentPort) {
  const port = parentPort;
  probe(workerData as ProbeRequest).then(
    (result) => port.postMessage(result),
    (err: unknown) => port.postMessage({ ms: [], failures: [`probe: ${String(err)}`], loopP99: NaN, loopMax: NaN }),
  );
}
