// The Temporal SDK's own worker metrics (workflow and activity completions and failures, task
// latencies, sticky cache, slots) in Prometheus format, from the SDK's Runtime exporter, when
// CRDS_WORKER_METRICS_ADDRESS names an address to listen on (e.g. 127.0.0.1:9464; scrape
// http://<address>/metrics). Must run before the first connection: the Runtime is global.
import { Runtime } from '@temporalio/worker';

export function installWorkerMetrics(address = process.env.CRDS_WORKER_METRICS_ADDRESS): string | undefined {
  if (!address) return undefined;
  if (!/^[\w.\-[\]:]+:\d{1,5}$/.test(address)) throw new Error(`CRDS_WORKER_METRICS_ADDRESS must be host:port, not '${address}'`);
  Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress: address, countersTotalSuffix: true } } } });
  return address;
}
