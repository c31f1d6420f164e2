// Mail sent by the web itself (mark bad, ReDCaT records), not by a workflow: plain text to
// the given list through CRDS_SMTP_URL; without it, or without recipients, logged and skipped.
import nodemailer from 'nodemailer';
import type { Config } from '../config';

export async function sendSiteMail(config: Config, to: string[], subject: string, text: string): Promise<void> {
  if (!config.mail.smtpUrl || !to.length) {
    console.log(`mail skipped (${config.mail.smtpUrl ? 'no recipients' : 'no CRDS_SMTP_URL'}): ${subject}`);
    return;
  }
  await nodemailer.createTransport(config.mail.smtpUrl).sendMail({ from: config.mail.from, to, subject, text });
}
