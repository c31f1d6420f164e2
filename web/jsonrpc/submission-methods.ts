// The JSON-RPC methods about submissions and deliveries (crds-protocol.md §1.6, §5.7, §6):
// jpoll_pull_messages and jpoll_abort on a submission's channel, get_submission_info (what a
// user may submit and where their ingest folder is) and get_delivery_status (one row per
// delivery catalog, newest first).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Op } from 'sequelize';
import type { Config } from '../../config';
import type { Database } from '../../db';
import { jpollPullMethod, type JpollSource } from '../jpoll';
import { checkObservatory, str } from './checks';
import { fail, otherError } from './errors';

/** What the methods need of the submission workflows (web/submissions.ts). */
export interface SubmissionRpcSource extends JpollSource {
  abort(key: unknown): Promise<boolean>;
}

/** The submission pages this server serves (crds-protocol.md §5.1), as get_submission_info lists them. */
export const SUBMISSION_KINDS = ['batch_submit_references', 'submit_reference', 'submit_mapping', 'delete_references', 'add_references', 'create_contexts', 'redcat_submit', 'certify', 'mark_bad'];

/** The original's date forms for `since`: 'YYYY-MM-DD[ HH:MM:SS[.ffffff]]' (or ISO 'T'). */
const SINCE_RE = /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?$/;

export function submissionMethods(deps: { config: Config; db: Database; submissions?: SubmissionRpcSource }) {
  const { config, db, submissions } = deps;
  const obs = config.observatory;
  return {
    jpoll_pull_messages: jpollPullMethod(submissions),

    jpoll_abort: {
      params: ['key'] as const,
      async run([key]: unknown[]): Promise<boolean> {
        if (!submissions) throw otherError('Submission monitoring is not available on this server.');
        try {
          return await submissions.abort(key);
        } catch (err) {
          throw otherError(err instanceof Error ? err.message : String(err));
        }
      },
    },

    get_submission_info: {
      params: ['observatory', 'username'] as const,
      async run([observatory, username]: unknown[]) {
        checkObservatory(observatory, obs);
        const name = str(username, 'username');
        const user = /^[A-Za-z0-9_.@-]{1,150}$/.test(name) ? await db.models.User.findOne({ where: { username: name } }) : null;
        if (!user) fail('InvalidUserError', `Unknown user '${name.slice(0, 150)}'.`);
        return { submission_kinds: SUBMISSION_KINDS, ingest_dir: `${os.hostname()}:${path.join(config.serverFiles, 'ingest', name)}` };
      },
    },

    get_delivery_status: {
      params: ['since'] as const,
      async run([since]: unknown[]) {
        const text = since === undefined || since === null ? '1900-01-01' : str(since, 'since');
        if (!SINCE_RE.test(text)) fail('InvalidDateFormat', `Invalid date '${text.slice(0, 40)}': use YYYY-MM-DD[ HH:MM:SS].`);
        const from = new Date(`${text.replace(' ', 'T')}${text.length > 10 ? '' : 'T00:00:00'}Z`);
        if (Number.isNaN(from.getTime())) fail('InvalidDateFormat', `Invalid date '${text}'.`);
        const audits = await db.models.AuditRecord.findAll({
          where: { filename: { [Op.like]: '%.cat' }, date: { [Op.gte]: from }, observatory: obs },
          order: [['date', 'DESC'], ['id', 'DESC']],
        });
        const rows = [];
        for (const a of audits) {
          const catalog = path.join(config.serverFiles, 'catalogs', a.filename);
          const files = fs.existsSync(catalog) ? fs.readFileSync(catalog, 'utf8').split('\n').filter(Boolean).sort() : [];
          const first = files.length ? await db.models.CatalogFile.findOne({ attributes: ['state'], where: { name: files[0]! } }) : null;
          rows.push({
            date: a.date.toISOString().replace('T', ' ').replace('Z', ''),
            action: a.action,
            user: a.username,
            description: a.why,
            files,
            catalog: a.filename,
            status: first?.state ?? 'unknown',
          });
        }
        return rows;
      },
    },
  };
}
