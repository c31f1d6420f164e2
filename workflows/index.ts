// The worker's workflow bundle: every workflow type, exported by name.
export { clearExpiredLocksWorkflow } from './maintenance';
export { submissionWorkflow } from './submission';
export { nightlyWorkflow, backupWorkflow, restoreWorkflow, mirrorWorkflow } from './operations';
export { syncOpsToGrpWorkflow } from './publish';
export { cleanAbandonedUploadsWorkflow } from './cleanup';
export { affectedDatasetsWorkflow, monitorReprocessingWorkflow } from './affected';
