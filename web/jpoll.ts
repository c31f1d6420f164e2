// The original's jpoll channel (docs/submission-protocol.md §6), served from a submission
// workflow's progress: the channel key the session opened is the submission's results id,
// so `jpoll_pull_messages(key, since)` reads the workflow `submission-<obs>-<key>`.
import type { ProgressMessage, SubmissionProgress } from '../workflows/submission-types';
import { otherError } from './jsonrpc/errors';

/** One message as the real client's monitor reads it. */
export interface JpollMessage {
  id: number;
  type: ProgressMessage['type'];
  data: string | { status: number; result: string };
  time: string;
  channel: string;
}

/** The client html-unescapes every message (`&#x27;` → `'`), so text goes out escaped. */
function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#x27;');
}

/** `since` as the client sends it: a string ("0", then the highest id seen), or a number. */
export function parseSince(since: unknown): number | undefined {
  if (typeof since === 'number' && Number.isInteger(since) && since >= 0) return since;
  if (typeof since === 'string' && /^\d{1,15}$/.test(since.trim())) return Number(since.trim());
  return undefined;
}

/**
 * The messages of a submission with id > since, in order, ending with the first `done`:
 * nothing after `done` ever goes out, since a later message in the same pull makes the real
 * client wait for ever (§6.3). `done` carries an int status and a string result, not escaped:
 * the client unescapes strings only, never a dict.
 */
export function jpollMessages(progress: Pick<SubmissionProgress, 'messages'>, key: string, since: number): JpollMessage[] {
  const out: JpollMessage[] = [];
  for (const m of progress.messages) {
    if (m.id > since) {
      const data =
        m.type === 'done'
          ? typeof m.data === 'object'
            ? { status: Math.trunc(Number(m.data.status)), result: String(m.data.result) }
            : { status: 1, result: String(m.data) }
          : escapeHtml(typeof m.data === 'string' ? m.data : JSON.stringify(m.data));
      out.push({ id: m.id, type: m.type, data, time: m.time, channel: key });
    }
    if (m.type === 'done') break;
  }
  return out;
}

/** What the JSON-RPC method needs of the submissions (web/submissions.ts pullMessages). */
export interface JpollSource {
  pullMessages(key: unknown, since: unknown): Promise<JpollMessage[]>;
}

/** The `jpoll_pull_messages` entry of the JSON-RPC method table. */
export function jpollPullMethod(source: JpollSource | undefined) {
  return {
    params: ['key', 'since_id'] as const,
    async run([key, since]: unknown[]): Promise<JpollMessage[]> {
      if (!source) throw otherError('Submission monitoring is not available on this server.');
      try {
        return await source.pullMessages(key, since);
      } catch (err) {
        // "Channel ... not found" keeps the real monitor polling; any other error stops it.
        throw otherError(err instanceof Error ? err.message : String(err));
      }
    },
  };
}
