// The ReDCaT extended submission (crds-protocol.md §5.1, §5.4; the original's
// submission_form/views.py): the batch submission with the delivery's description besides.
//   GET  /submission_form/redcat_description.yml  the form's fields for the real client's
//        rc_submit.Submission (config/redcat_description.yml, instruments filled in)
//   GET  /submission_form/redcat_submit/  the batch page with the ReDCaT fields
//   POST /submission_form/redcat_submit/  what `crds rc_submit` posts: the batch form's checks,
//        the ReDCaT fields' checks, then the submission workflow as for a batch submission; the
//        record is saved with its results id and mailed (CRDS_REDCAT_MAIL_TO)
//   GET  /submission_form/redcat_list/, /submission_form/<id>/  the saved records
import * as fs from 'node:fs';
import * as path from 'node:path';
import express, { type Request, type Response } from 'express';
import YAML from 'yaml';
import { REPO_ROOT, type Config } from '../config';
import type { Database } from '../db';
import { redcatRecord, redcatRecords, saveRedcatRecord, type RedcatRecord, type RedcatValue } from '../db/redcat';
import { requireLogin } from './accounts';
import { sendSiteMail } from './site-mail';
import { BATCH_FORM_DEFAULTS, batchRequest, checkboxOf, formOf, renderBatchPage, startOrRefuse, type Form } from './submit';
import type { StartSubmission } from './submission-types';
import type { UploadFolders } from './upload-files';

export const REDCAT_DESCRIPTION_FILE = path.join(REPO_ROOT, 'config', 'redcat_description.yml');

const FIELD_TYPES = ['BooleanField', 'CharField', 'TypedChoiceField'] as const;

/** One field of the form, as the client's rc_submit reads it. */
export interface RedcatField {
  key: string;
  label: string;
  type: (typeof FIELD_TYPES)[number];
  required: boolean;
  help_text?: string;
  choices?: (string | boolean)[];
  initial?: string | boolean;
  /** `instruments`: the choices are the edit context's instruments (filled when served). */
  choices_from?: 'instruments';
}

/** Longest text a CharField keeps. */
const MAX_TEXT = 2000;
const ADDRESS = /^[^\s@,<>"]+@[^\s@,<>"]+$/;

/** Reads and checks the form's description; a malformed file stops the web at start-up. */
export function loadRedcatDescription(file = REDCAT_DESCRIPTION_FILE): RedcatField[] {
  // YAML 1.1, as PyYAML (the client) reads it.
  const fields = YAML.parse(fs.readFileSync(file, 'utf8'), { version: '1.1' }) as RedcatField[];
  const bad = (why: string) => new Error(`${file}: ${why}`);
  if (!Array.isArray(fields) || !fields.length) throw bad('expected a list of fields');
  const keys = new Set<string>();
  for (const f of fields) {
    if (!f || typeof f.key !== 'string' || !/^[a-z][a-z0-9_]{0,63}$/.test(f.key)) throw bad(`invalid key ${JSON.stringify(f?.key)}`);
    if (keys.has(f.key) || ['change_level', 'description'].includes(f.key)) throw bad(`key '${f.key}' repeated or reserved`);
    keys.add(f.key);
    if (!FIELD_TYPES.includes(f.type)) throw bad(`field '${f.key}': type must be one of ${FIELD_TYPES.join(', ')}`);
    if (typeof f.label !== 'string' || typeof f.required !== 'boolean') throw bad(`field '${f.key}' needs a label and required: true|false`);
    if (f.type === 'TypedChoiceField' && !f.choices_from && !(Array.isArray(f.choices) && f.choices.every((c) => typeof c === 'string'))) {
      throw bad(`field '${f.key}' needs choices (strings; quote 'Yes' and 'No') or choices_from: instruments`);
    }
  }
  return fields;
}

/** The description as served: choices_from resolved. */
export function servedDescription(fields: RedcatField[], instruments: string[]): Omit<RedcatField, 'choices_from'>[] {
  return fields.map(({ choices_from, ...f }) => (choices_from === 'instruments' ? { ...f, choices: instruments } : f));
}

/**
 * Checks the posted ReDCaT fields (Django's form of the original): required ones present,
 * choices among the choices (any case, kept as the choice spells it), text at most MAX_TEXT,
 * other_email addresses, and the instrument the one the submitter is locked for.
 */
export function checkRedcatFields(fields: RedcatField[], form: Form, lockedInstrument: string): { values: Record<string, RedcatValue> } | { refusal: string } {
  const values: Record<string, RedcatValue> = {};
  const missing: string[] = [];
  for (const f of fields) {
    const raw = (form[f.key] ?? '').trim();
    if (f.type === 'BooleanField') {
      values[f.key] = checkboxOf(raw);
      continue;
    }
    if (!raw) {
      if (f.required) missing.push(f.key);
      values[f.key] = '';
      continue;
    }
    if (raw.length > MAX_TEXT) return { refusal: `Field '${f.key}' is longer than ${MAX_TEXT} characters.` };
    if (f.type === 'TypedChoiceField') {
      const choice = (f.choices ?? []).map(String).find((c) => c.toLowerCase() === raw.toLowerCase());
      if (f.choices && choice === undefined) return { refusal: `Field '${f.key}': '${raw.slice(0, 64)}' is not one of ${f.choices.join(', ')}.` };
      values[f.key] = choice ?? raw.toLowerCase();
    } else {
      values[f.key] = raw;
    }
  }
  if (missing.length) return { refusal: `These fields are required: ${missing.join(', ')}.` };
  if ('instrument' in values && String(values.instrument).toLowerCase() !== lockedInstrument.toLowerCase()) {
    return { refusal: `Field 'instrument' is '${values.instrument}' but you are logged in for '${lockedInstrument}': submit for the instrument you hold the lock of.` };
  }
  const other = String(values.other_email ?? '').split(',').map((a) => a.trim()).filter(Boolean);
  if (other.length > 10 || other.some((a) => !ADDRESS.test(a))) return { refusal: "Field 'other_email': up to 10 addresses like user@host, separated by commas." };
  return { values };
}

/** The record's mail: every field under its label, links to the record and the result. */
export function redcatMail(config: Config, fields: RedcatField[], record: RedcatRecord): { subject: string; text: string } {
  // Nothing the submitter typed goes into a header.
  const subject = `CRDS ${record.observatory.toUpperCase()} ReDCaT submission ${record.id}: ${record.instrument} by ${record.username}`;
  const shown = (v: RedcatValue | undefined) => (typeof v === 'boolean' ? (v ? 'yes' : 'no') : v || '-');
  const lines = [
    `ReDCaT submission ${record.id} by '${record.username}' for ${record.instrument}.`,
    '',
    `Record: ${config.siteUrl}/submission_form/${record.id}/`,
    `Result: ${config.siteUrl}/display_result/${record.resultsId}`,
    `Change level: ${record.changeLevel}`,
    `Description: ${record.description}`,
    '',
    ...fields.map((f) => `${f.label}\n  ${shown(record.fields[f.key])}`),
    '',
  ];
  return { subject, text: lines.join('\n') };
}

export interface RedcatDeps {
  config: Config;
  db: Database;
  folders: UploadFolders;
  startSubmission?: StartSubmission;
  /** The instruments of the edit context (the instrument field's choices). */
  instruments: () => Promise<string[]>;
  /** The form's description file (default config/redcat_description.yml). */
  descriptionFile?: string;
}

export function redcatRouter(deps: RedcatDeps): express.Router {
  const { db, config } = deps;
  const description = loadRedcatDescription(deps.descriptionFile);
  const router = express.Router();
  const login = requireLogin();
  const served = async () => servedDescription(description, await deps.instruments());

  router.get('/submission_form/redcat_description.yml', async (_req, res) => {
    res.type('text/yaml; charset=utf-8').send(YAML.stringify(await served(), { version: '1.1' }));
  });

  const page = async (req: Request, res: Response, form: Form, errorMessage?: string, status = 200) =>
    renderBatchPage(deps, req, res, form, errorMessage, status, { title: 'ReDCaT submission', action: '/submission_form/redcat_submit/', redcatFields: await served() });

  router.get('/submission_form/redcat_submit/', login, async (req, res) => {
    const initial = Object.fromEntries(description.filter((f) => f.initial !== undefined).map((f) => [f.key, f.type === 'BooleanField' ? (f.initial ? 'True' : '') : String(f.initial)]));
    await page(req, res, { ...BATCH_FORM_DEFAULTS, ...initial });
  });

  router.post('/submission_form/redcat_submit/', login, async (req, res) => {
    const form = formOf(req.body);
    const refuse = (message: string, status = 200) => page(req, res, form, message, status);
    if (!deps.startSubmission) return refuse('The submission workflow is not available on this server yet.', 503);
    const checked = await batchRequest(deps, req, form);
    if (checked.refusal !== undefined) return refuse(checked.refusal, checked.status);
    const redcat = checkRedcatFields(await served(), form, checked.request.lock.instrument);
    if ('refusal' in redcat) return refuse(redcat.refusal);
    const started = await startOrRefuse(deps.startSubmission, checked.request, refuse);
    if (!started) return;
    const { resultsId, location } = started;
    const { request } = checked;
    const { record, created } = await saveRedcatRecord(db, {
      observatory: config.observatory,
      username: request.submitter.username,
      instrument: request.lock.instrument.toLowerCase(),
      resultsId,
      changeLevel: request.changeLevel,
      description: request.description,
      fields: redcat.values,
    });
    if (created) {
      const other = String(record.fields.other_email ?? '').split(',').map((a) => a.trim()).filter(Boolean);
      const to = [...new Set([...(request.submitter.email ? [request.submitter.email] : []), ...other, ...config.mail.redcatTo])];
      const { subject, text } = redcatMail(config, description, record);
      // Saved and submitted already: a dead mail server is reported, not undone.
      await sendSiteMail(config, to, subject, text).catch((err) => console.warn(`ReDCaT mail failed: ${String(err)}`));
    }
    res.redirect(302, location);
  });

  router.get('/submission_form/redcat_list/', login, async (req, res) => {
    const pageNo = Math.max(1, Math.min(10_000, Number.parseInt(String(req.query.page ?? '1'), 10) || 1));
    const perPage = 50;
    const { records, total } = await redcatRecords(db, perPage, (pageNo - 1) * perPage);
    res.render('redcat-list', { title: 'ReDCaT submissions', records, total, pageNo, pages: Math.max(1, Math.ceil(total / perPage)) });
  });

  router.get(/^\/submission_form\/(\d{1,9})\/$/, login, async (req, res) => {
    const id = Number((req.params as Record<string, string>)[0]);
    const record = await redcatRecord(db, id);
    if (!record) return void res.status(404).render('error', { title: 'Not found', message: `ReDCaT submission ${id} not found.` });
    const known = new Set(description.map((f) => f.key));
    // Fields of an older description still show, under their key.
    const rows = [
      ...description.map((f) => ({ key: f.key, label: f.label, value: record.fields[f.key] })),
      ...Object.keys(record.fields).filter((k) => !known.has(k)).map((k) => ({ key: k, label: k, value: record.fields[k] })),
    ];
    res.render('redcat-record', { title: `ReDCaT submission ${id}`, record, rows });
  });

  return router;
}
