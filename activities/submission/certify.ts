// Certify of the submitted files (crds-protocol.md §5.4 steps 4–5): each file in a worker
// thread while the activity heartbeats, then certify's group check of them all.
import { mappingNameProperties } from '../../crds/refactor';
import * as path from 'node:path';
import { checkGroup } from '../../crds/certify';
import type { GroupCheckResult, SubmittedFile } from '../../workflows/submission-types';
import { certifyInThread } from '../certify-thread';
import { cancellationSignal, heartbeat, referenceKind, submissionPaths, type SubmissionActivityDeps } from './common';

export interface CertifyInput {
  submissionId: string;
  observatory: string;
  uploadedAs: string;
  context: string;
  compareOldReference: boolean;
}

export interface GroupCheckInput {
  submissionId: string;
  observatory: string;
  context: string;
  uploadedAs: string[];
}

export function createCertifyActivities(deps: SubmissionActivityDeps) {
  const { config, specsRoot } = deps;
  return {
    /**
     * crds certify of one uploaded file against the derivation context, in a worker thread
     * while the activity heartbeats (a killed worker's certify is retried within the
     * heartbeat timeout).
     */
    async certifySubmissionFile(input: CertifyInput): Promise<SubmittedFile['certify'] & { instrument: string; filekind: string }> {
      const paths = submissionPaths(config, input.observatory);
      const file = path.join(paths.submission(input.submissionId), input.uploadedAs);
      heartbeat({ file: input.uploadedAs, phase: 'start' });
      const result = await certifyInThread(
        file,
        {
          observatory: input.observatory,
          specsRoot,
          mappingsDir: paths.mappings,
          context: input.context,
          referencesDir: input.compareOldReference ? paths.references : undefined,
        },
        () => heartbeat({ file: input.uploadedAs, phase: 'certifying' }),
        5_000,
        cancellationSignal(),
      );
      heartbeat({ file: input.uploadedAs, phase: 'done' });
      let kind = { instrument: '', filekind: '' };
      // A mapping's kind is in its name (hst_cos_xtractab_0250.rmap); a pmap's instrument is ''.
      if (result.errors === 0) kind = /\.[pir]map$/.test(file) ? mappingKind(file) : referenceKind(specsRoot, input.observatory, file);
      return {
        errors: result.errors,
        warnings: result.warnings,
        findings: result.findings.map((f) => ({ level: f.level as 'ERROR' | 'WARNING' | 'INFO', message: f.message })),
        ...kind,
      };
    },

    /**
     * Certify's group check (certify.check_rmap_updates), as the real server runs it after
     * every file passed: all submitted references trial-inserted, per type, into their rmaps
     * of the derivation context, each result certified as a mapping. Findings name uploads
     * by their uploaded names, never by the server's paths.
     */
    async checkSubmissionGroup(input: GroupCheckInput): Promise<GroupCheckResult[]> {
      const paths = submissionPaths(config, input.observatory);
      const dir = paths.submission(input.submissionId);
      heartbeat({ phase: 'group check' });
      const results = checkGroup(
        input.uploadedAs.map((n) => path.join(dir, n)),
        { observatory: input.observatory, specsRoot, mappingsDir: paths.mappings, context: input.context },
      );
      const local = (text: string) => text.split(`${dir}${path.sep}`).join('');
      return results.map((r) => ({
        rmap: r.group && r.file !== 'rmap update check' ? path.basename(r.file) : undefined,
        references: (r.group?.references ?? []).map((f) => path.basename(f)),
        errors: r.errors,
        warnings: r.warnings,
        findings: r.findings.map((f) => ({ level: f.level as 'ERROR' | 'WARNING' | 'INFO', message: local(f.message) })),
      }));
    },

  };
}

function mappingKind(file: string): { instrument: string; filekind: string } {
  const { instrument, filekind } = mappingNameProperties(path.basename(file));
  return path.extname(file) === '.pmap' ? { instrument: '', filekind: '' } : { instrument, filekind };
}
