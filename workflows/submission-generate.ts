// The submit-time step of each submission kind (crds-protocol.md §5.4), for the submission
// workflow: batch submit inserts the references into new rmaps; simple submit catalogues the
// uploads as they are; delete / add make new rmaps without or with catalogued references;
// create_contexts checks the rmaps it installs. What confirm installs in new imaps and a pmap
// comes back as `contextRmaps` (batch: its new rmaps). Deterministic: activities do the work.
import type { SubmissionActivities } from '../activities/submission';
import type { GeneratedMapping, SubmissionInput, SubmittedFile } from './submission-types';

export interface GeneratedRules {
  files: SubmittedFile[];
  generated: GeneratedMapping[];
  actions: string[];
  contextRmaps?: { name: string; derivedFrom: string }[];
}

type Files = Pick<SubmissionActivities, 'generateSubmissionRules' | 'catalogSimpleSubmission' | 'refactorReferences' | 'checkContextRmaps'>;

export async function generateForKind(files: Files, req: SubmissionInput, context: string, submitted: SubmittedFile[]): Promise<GeneratedRules> {
  const kind = req.kind ?? 'batch';
  const common = { submissionId: req.submissionId, observatory: req.observatory, username: req.username, changeLevel: req.changeLevel, creator: req.creator, description: req.description };
  switch (kind) {
    case 'reference':
    case 'mapping':
      return files.catalogSimpleSubmission({ ...common, kind, context, files: submitted, autoRename: req.autoRename, generateContexts: req.generateContexts === true });
    case 'delete':
    case 'add':
      return files.refactorReferences({ ...common, action: kind, instrument: req.instrument.toLowerCase(), context, references: req.references ?? [] });
    case 'create_contexts': {
      const c = await files.checkContextRmaps({ observatory: req.observatory, pmapMode: req.pmapMode, pmapName: req.pmapName, rmaps: req.rmaps ?? [] });
      return { files: [], generated: [], contextRmaps: c.rmaps, actions: c.rmaps.map((r) => `Installing '${r.name}' in place of '${r.derivedFrom}'`) };
    }
    default:
      return files.generateSubmissionRules({ ...common, context, files: submitted, autoRename: req.autoRename });
  }
}
