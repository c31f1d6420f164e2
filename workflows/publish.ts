// `sync-ops-to-grp` (every 10 minutes, the original's sync_ops_to_grp cron): publishes the
// site's available files into the read-only cache CRDS_PUBLISH_DIR, then its server_config.
import { ApplicationFailure, log, proxyActivities } from '@temporalio/workflow';
import type { PublishActivities, PublishConfigResult, PublishFilesResult } from '../activities/publish';

const { publishFiles } = proxyActivities<PublishActivities>({
  // A large reference takes minutes; the copy heartbeats every chunk, so a killed worker's
  // copy is taken over by another within the heartbeat timeout, not at the end of the hour.
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute' },
});
const { publishConfig } = proxyActivities<PublishActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute' },
});

/** How often files are published again when the catalog moved on before server_config could be written. */
const ROUNDS = 3;

export interface PublishReport {
  files: PublishFilesResult[];
  config: PublishConfigResult;
}

export async function syncOpsToGrpWorkflow(): Promise<PublishReport> {
  const files: PublishFilesResult[] = [];
  let config: PublishConfigResult | undefined;
  for (let round = 0; round < ROUNDS; round++) {
    files.push(await publishFiles());
    // server_config last: written only once the contexts' files are all in place.
    config = await publishConfig();
    if (!config.missing.length) break;
    log.info('catalog changed while publishing: publishing files again', { missing: config.missing.slice(0, 10) });
  }
  const failed = Object.entries(files[files.length - 1]!.failed);
  if (config!.missing.length || failed.length) {
    const why = failed.map(([name, error]) => `${name}: ${error}`);
    throw ApplicationFailure.nonRetryable(
      `published cache incomplete: ${config!.missing.length ? `server_config kept at the previous context, missing ${config!.missing.join(', ')}` : `server_config at ${config!.operationalContext}`}; ${failed.length} file(s) failed${why.length ? `: ${why.slice(0, 20).join('; ')}` : ''}`,
      'PublishIncomplete',
    );
  }
  log.info('published', { context: config!.operationalContext, copied: files.reduce((n, f) => n + f.copied, 0), written: config!.written });
  return { files, config: config! };
}
