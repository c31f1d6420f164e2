// `clean-abandoned-uploads` schedule (activities/cleanup.ts).
import { log, proxyActivities } from '@temporalio/workflow';
import type { CleanupActivities, CleanupReport } from '../activities/cleanup';

const { cleanAbandonedUploads } = proxyActivities<CleanupActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '5 seconds', maximumInterval: '1 minute' },
});

export async function cleanAbandonedUploadsWorkflow(): Promise<CleanupReport> {
  const report = await cleanAbandonedUploads();
  log.info('cleaned abandoned uploads', { files: report.removed.length, bytes: report.bytes, sessions: report.sessions });
  return report;
}
