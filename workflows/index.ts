// The worker's workflow bundle: every workflow type, exported by name.
export { clearExpiredLocksWorkflow } from './maintenance';
export { submissionWorkflow } from './submission';
export { affectedDatasetsWorkflow, monitorReprocessingWorkflow } from './affected';
