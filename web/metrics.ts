// Prometheus metrics of the web process (prom-client), served at /metrics: JSON-RPC calls and
// their latency per method, pages per route pattern (never the raw path: bounded label
// values), upload and download bytes, and the process's own (heap, event loop lag, CPU).
// The worker's Temporal SDK metrics (workflow and activity outcomes, task latencies) are on
// the worker's own port (workers/metrics.ts). Set CRDS_METRICS_TOKEN to require
// `Authorization: Bearer <token>` from the scraper.
import type { NextFunction, Request, Response } from 'express';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class WebMetrics {
  readonly registry = new Registry();
  private readonly rpcCalls = new Counter({ name: 'crds_jsonrpc_requests_total', help: 'JSON-RPC calls by method and outcome (ok or the error class).', labelNames: ['method', 'outcome'], registers: [this.registry] });
  private readonly rpcSeconds = new Histogram({ name: 'crds_jsonrpc_duration_seconds', help: 'JSON-RPC answer time by method, from the whole body read to the answer sent.', labelNames: ['method'], buckets: LATENCY_BUCKETS, registers: [this.registry] });
  private readonly httpSeconds = new Histogram({ name: 'crds_http_request_duration_seconds', help: 'Page and route answer time by route pattern, HTTP method and status.', labelNames: ['route', 'method', 'status'], buckets: LATENCY_BUCKETS, registers: [this.registry] });
  private readonly downloadBytes = new Counter({ name: 'crds_download_bytes_total', help: 'Bytes of catalogued files sent (whole files and ranges).', registers: [this.registry] });
  private readonly downloads = new Counter({ name: 'crds_downloads_total', help: 'File downloads answered 200 or 206.', registers: [this.registry] });
  private readonly uploadBytes = new Counter({ name: 'crds_upload_bytes_total', help: 'Bytes of accepted upload requests (declared lengths).', registers: [this.registry] });
  private readonly uploads = new Counter({ name: 'crds_upload_requests_total', help: 'Upload requests by route pattern and status.', labelNames: ['route', 'status'], registers: [this.registry] });
  /** Per-method children, so the hot path does no label lookups. */
  private readonly byMethod = new Map<string, { ok: Counter.Internal; seconds: Histogram.Internal<string> }>();

  constructor(
    /** The method names (others are counted as 'unknown': names come from the wire). */
    private readonly methods: ReadonlySet<string>,
    readonly token = process.env.CRDS_METRICS_TOKEN ?? '',
  ) {
    collectDefaultMetrics({ register: this.registry });
  }

  /** One JSON-RPC call: its method, its error class (null: a result) and its duration. */
  rpc(method: string, errorName: string | null, seconds: number): void {
    const name = this.methods.has(method) ? method : 'unknown';
    let child = this.byMethod.get(name);
    if (!child) this.byMethod.set(name, (child = { ok: this.rpcCalls.labels(name, 'ok'), seconds: this.rpcSeconds.labels(name) }));
    child.seconds.observe(seconds);
    if (errorName === null) child.ok.inc();
    else this.rpcCalls.labels(name, errorName.slice(0, 64)).inc();
  }

  /** Express middleware timing every request by its matched route pattern. */
  http(): (req: Request, res: Response, next: NextFunction) => void {
    return (req, res, next) => {
      const t0 = performance.now();
      res.once('finish', () => {
        const route = req.route ? `${req.baseUrl}${String((req.route as { path: unknown }).path)}` : 'unmatched';
        const status = String(res.statusCode);
        this.httpSeconds.labels(route, req.method.slice(0, 10), status).observe((performance.now() - t0) / 1000);
        if (route.startsWith('/unchecked_get/') && (res.statusCode === 200 || res.statusCode === 206)) {
          this.downloads.inc();
          this.downloadBytes.inc(Number(res.getHeader('content-length')) || 0);
        } else if (route.startsWith('/upload/') && req.method !== 'GET') {
          this.uploads.labels(route, status).inc();
          if (res.statusCode < 400) this.uploadBytes.inc(Number(req.headers['content-length']) || 0);
        }
      });
      next();
    };
  }

  /** GET /metrics: the text exposition format. */
  endpoint(): (req: Request, res: Response) => Promise<void> {
    return async (req, res) => {
      if (this.token && req.headers.authorization !== `Bearer ${this.token}`) {
        res.status(401).type('text/plain').send('Unauthorized\n');
        return;
      }
      res.type(this.registry.contentType).send(await this.registry.metrics());
    };
  }
}
