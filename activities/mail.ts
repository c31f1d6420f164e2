// Submission mail through nodemailer (crds-protocol.md §5.8): to the submitter and the
// site's list (CRDS_MAIL_TO) at ready, confirmed/cancelled, delivered, archived or failed.
// Without CRDS_SMTP_URL a mail is logged and skipped: a site without mail still submits.
// A retried send may deliver twice; the Message-ID is derived from the submission and the
// event so mail clients fold the copies together.
import { Context } from '@temporalio/activity';
import nodemailer from 'nodemailer';
import type { Config } from '../config';
import type { Database } from '../db';
import { redcatRecordOf } from '../db/redcat';
import type { SubmissionProgress } from '../workflows/submission-types';

export type MailEvent = 'certified' | 'ready' | 'confirmed' | 'forced' | 'cancelled' | 'delivered' | 'archived' | 'archiving-failed' | 'failed';

export interface SubmissionMailInput {
  event: MailEvent;
  progress: SubmissionProgress;
}

export interface MailResult {
  sent: boolean;
  to: string[];
  subject: string;
}

function log(message: string): void {
  try {
    Context.current().log.info(message);
  } catch {
    console.log(message);
  }
}

/** Subject and text of a submission mail; plain text, links absolute. */
export function submissionMail(input: SubmissionMailInput, redcatUrl?: string): { subject: string; text: string } {
  const p = input.progress;
  const kind = input.event.toUpperCase();
  const subject = `CRDS ${p.observatory.toUpperCase()} submission ${kind}: ${p.instrument} by ${p.username}`;
  const lines = [
    `Submission ${p.submissionId} by '${p.username}' for ${p.instrument}: ${kind}.`,
    '',
    `Description: ${p.description}`,
    `Result: ${p.resultUrl}`,
  ];
  if (redcatUrl) lines.push(`ReDCaT record: ${redcatUrl}`);
  if (p.reason) lines.push(`Reason: ${p.reason}`);
  if (p.context.derivedFrom) lines.push(`Derived from: ${p.context.derivedFrom}`);
  if (p.context.newContext) lines.push(`New context: ${p.context.newContext}`);
  if (p.delivery) lines.push(`Delivery: ${p.delivery.catalog} (${p.delivery.state})`);
  if (p.files.length) {
    lines.push('', 'Files:');
    for (const f of p.files) lines.push(`  ${f.uploadedAs}${f.name ? ` -> ${f.name}` : ''}${f.certify?.errors ? ` (${f.certify.errors} certify errors)` : ''}`);
  }
  if (p.generated.length) {
    lines.push('', 'Generated rules:');
    for (const g of p.generated) lines.push(`  ${g.name} (from ${g.derivedFrom})`);
  }
  if (input.event === 'ready' && p.confirmDeadline) lines.push('', `Confirm or cancel at ${p.resultUrl} before ${p.confirmDeadline}.`);
  return { subject, text: lines.join('\n') + '\n' };
}

export function createMailActivities(deps: { db: Database; config: Config }) {
  const { smtpUrl, from, to } = deps.config.mail;
  const transport = smtpUrl ? nodemailer.createTransport(smtpUrl) : undefined;
  return {
    async sendSubmissionMail(input: SubmissionMailInput): Promise<MailResult> {
      // A ReDCaT submission's mails lead to its record too (saved as the workflow starts).
      const redcat = await redcatRecordOf(deps.db, input.progress.submissionId);
      const { subject, text } = submissionMail(input, redcat ? `${deps.config.siteUrl}/submission_form/${redcat.id}/` : undefined);
      const user = await deps.db.models.User.findOne({ where: { username: input.progress.username } });
      const recipients = [...new Set([...(user?.email ? [user.email] : []), ...to])];
      if (!transport || !recipients.length) {
        log(`mail skipped (${transport ? 'no recipients' : 'no CRDS_SMTP_URL'}): ${subject}`);
        return { sent: false, to: recipients, subject };
      }
      await transport.sendMail({
        from,
        to: recipients,
        subject,
        text,
        messageId: `<${input.progress.workflowId}.${input.event}@crds.${input.progress.observatory}>`,
      });
      return { sent: true, to: recipients, subject };
    },
  };
}

export type MailActivities = ReturnType<typeof createMailActivities>;
