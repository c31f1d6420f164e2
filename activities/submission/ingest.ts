// Ingest (crds-protocol.md §5.4): the submitter's files linked into the submission's own
// folder with their sizes and SHA-1 sums, and the derivation context resolved.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Op } from 'sequelize';
import type { Database } from '../../db';
import { defaultContexts } from '../../db/catalog';
import { FILE_NAME_RE, sha1sum } from '../../db/catalog-import';
import type { PmapMode, SubmittedFile } from '../../workflows/submission-types';
import { heartbeat, submissionPaths, userError, type SubmissionActivityDeps } from './common';
import { certifiedCopy } from '../certified-copy';

export interface IngestInput {
  submissionId: string;
  observatory: string;
  username: string;
  /** The files to submit; none: every file of the ingest folder. */
  names?: string[];
}

export interface ResolveContextInput {
  pmapMode: PmapMode;
  pmapName?: string;
}

/**
 * The context a submission derives from, or (at confirm) builds on: the edit or latest
 * default as it is now, or the named .pmap (pmap_text).
 */
export async function resolveContext(db: Database, input: ResolveContextInput): Promise<string> {
  if (input.pmapMode === 'pmap_text' || (input.pmapMode === undefined && input.pmapName)) {
    const name = input.pmapName ?? '';
    const row = await db.models.CatalogFile.findOne({ where: { name } });
    if (!row || !name.endsWith('.pmap')) throw userError(`Context '${name}' is not a known .pmap.`);
    return name;
  }
  const defaults = await defaultContexts(db);
  const context = input.pmapMode === 'pmap_latest' || input.pmapMode === 'pmap_operational' ? defaults.latest : defaults.edit;
  if (!context) throw userError(`This server has no ${input.pmapMode === 'pmap_latest' ? 'latest' : 'edit'} context to derive from.`);
  return context;
}

export function createIngestActivities(deps: SubmissionActivityDeps) {
  const { db, config } = deps;
  return {
    /**
     * Copies every file of the submitter's ingest folder into the submission's own folder
     * (certified-copy.ts; the ingest folder is left as it is until confirm) with sizes and SHA-1 sums.
     */
    async ingestSubmissionFiles(input: IngestInput): Promise<SubmittedFile[]> {
      const paths = submissionPaths(config, input.observatory);
      const ingest = paths.ingest(input.username);
      const present = fs.existsSync(ingest) ? fs.readdirSync(ingest).filter((n) => fs.lstatSync(path.join(ingest, n)).isFile()).sort() : []; // no symbolic links
      const names = input.names ? [...input.names].sort() : present;
      const target = paths.submission(input.submissionId);
      // A re-run after the ingest folder was emptied (confirm) keeps what it linked before.
      const linked = fs.existsSync(target) ? fs.readdirSync(target).sort() : [];
      const all = [...new Set([...linked, ...names])].sort();
      if (!all.length) throw userError('No input files were specified.');
      for (const n of all) if (!FILE_NAME_RE.test(n)) throw userError(`File name '${n}' is not allowed: use letters, digits, '.', '_' and '-'.`);
      fs.mkdirSync(target, { recursive: true });
      const files: SubmittedFile[] = [];
      for (const name of all) {
        const to = path.join(target, name);
        const progress = (bytes: number) => heartbeat({ file: name, bytes });
        if (!fs.existsSync(to)) {
          if (!present.includes(name)) throw userError(`File '${name}' is no longer in your ingest folder.`);
          // A private copy, never a link: later writes to the ingest file cannot reach it.
          const copied = await certifiedCopy(path.join(ingest, name), to, progress);
          files.push({ uploadedAs: name, size: copied.size, sha1sum: copied.sha1sum });
        } else {
          files.push({ uploadedAs: name, size: fs.statSync(to).size, sha1sum: await sha1sum(to, progress) });
        }
      }
      const identical = await db.models.CatalogFile.findAll({ attributes: ['name', 'sha1sum'], where: { sha1sum: files.map((f) => f.sha1sum), state: { [Op.ne]: 'uploaded' } } });
      for (const f of files) {
        const same = identical.filter((r) => r.sha1sum === f.sha1sum).map((r) => `'${r.name}'`);
        if (same.length) throw userError(`Submitted file '${f.uploadedAs}' is identical to existing files: ${same.join(', ')}`);
      }
      return files;
    },

    /** The derivation context now: the edit or latest default, or the named .pmap. */
    async resolveDerivationContext(input: ResolveContextInput): Promise<string> {
      return resolveContext(db, input);
    },
  };
}
