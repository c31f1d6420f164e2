// One workflow per file submission (crds-protocol.md §5–6, issues #6 and #10): ingest →
// certify → new rmaps → READY, then wait for a decision (the `decide` update, checked against
// the catalog by an activity; no deadline unless the site sets CRDS_SUBMISSION_EXPIRY) →
// under the context-generation lock, new imaps and pmap from the context in force then, and
// delivery → await the archive. The result is stored in the catalog as each stage ends, with
// mail. Every step, file and message is in the `progress` query, which pages and the jpoll
// channel read; no request waits on the workflow. A step failing with a non-user error is
// retried a bounded number of times, then the submission ends failed with that error.
// The original's other kinds (SubmissionKind) share it: certify-only stops after certify;
// simple submit, delete / add references differ at the submit-time step (submission-generate.ts);
// create_contexts skips ingest, certify and READY and delivers at once.
// Deterministic: all I/O is in activities/submission/* and mail.ts.
import {
  ApplicationFailure,
  ActivityFailure,
  CancellationScope,
  condition,
  defineQuery,
  defineSignal,
  defineUpdate,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { SubmissionActivities } from '../activities/submission';
import type { MailActivities, MailEvent } from '../activities/mail';
import {
  ABORT_MESSAGE,
  ABORT_SIGNAL,
  DECIDE_UPDATE,
  PROGRESS_QUERY,
  submissionWorkflowId,
  UPLOAD_KINDS,
  type DecisionResult,
  type GeneratedMapping,
  type DeliveryState,
  type ProgressMessage,
  type StepName,
  type SubmissionDecision,
  type SubmissionOutcome,
  type SubmissionProgress,
  type SubmissionInput,
  AUDIT_ACTIONS,
} from './submission-types';
import { generateForKind } from './submission-generate';

export const progressQuery = defineQuery<SubmissionProgress>(PROGRESS_QUERY);
export const decideUpdate = defineUpdate<DecisionResult, [SubmissionDecision]>(DECIDE_UPDATE);
export const abortSignal = defineSignal(ABORT_SIGNAL);

const retry = { initialInterval: '1 second', maximumInterval: '30 seconds' } as const;
/** Tries of a failing step by default (CRDS_SUBMISSION_ATTEMPTS): about 1.5 minutes of backoff. */
const DEFAULT_ATTEMPTS = 8;

/** The activities with their timeouts, each retried at most `attempts` times. */
function submissionActivities(attempts: number) {
  const bounded = { ...retry, maximumAttempts: attempts };
  return {
    files: proxyActivities<SubmissionActivities>({ startToCloseTimeout: '1 hour', heartbeatTimeout: '2 minutes', retry: bounded }),
    // certify runs in a worker thread while its activity heartbeats: a killed worker's certify
    // is retried within 30 s.
    certify: proxyActivities<SubmissionActivities>({ startToCloseTimeout: '2 hours', heartbeatTimeout: '30 seconds', retry: bounded }),
    // Confirm (contexts and delivery) heartbeats while it waits for and holds the
    // context-generation lock: a killed worker's confirm is retried within 10 s.
    deliver: proxyActivities<SubmissionActivities>({ startToCloseTimeout: '1 hour', heartbeatTimeout: '10 seconds', retry: bounded }),
    // The decision check answers within the web's few seconds, or refuses.
    decision: proxyActivities<SubmissionActivities>({ startToCloseTimeout: '10 seconds', retry: { ...retry, maximumAttempts: 3 } }),
    // Delivered files are the archive's: its watch retries without a bound.
    archive: proxyActivities<SubmissionActivities>({ startToCloseTimeout: '30 days', heartbeatTimeout: '2 minutes', retry }),
    mail: proxyActivities<MailActivities>({ startToCloseTimeout: '1 minute', retry: { ...retry, maximumAttempts: 5 } }),
  };
}

const DAY_MS = 24 * 3600_000;
const SUBMISSION_ERROR = 'SubmissionError';

/** Python's str(datetime) of a UTC time, as jpoll messages carry it. */
function pyTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}000`;
}

/** The submitter's message of a user error, or undefined for anything else. */
function userErrorMessage(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure && cause.type === SUBMISSION_ERROR ? cause.message : undefined;
}

/** The message of a step that kept failing (its retries spent), or undefined for anything else. */
function exhaustedMessage(err: unknown): string | undefined {
  if (!(err instanceof ActivityFailure) || isCancellation(err)) return undefined;
  return `${err.activityType} kept failing: ${err.cause?.message ?? err.message}`;
}

/**
 * The update's synchronous check of a decision (crds-protocol.md §5.5): the submission is
 * READY and undecided, the action known. Who may decide is checked afterwards against the
 * catalog (verifySubmissionDecision), never from the request's word. Throws the refusal.
 */
export function checkDecision(req: SubmissionInput, p: SubmissionProgress, d: SubmissionDecision): void {
  if (p.disposition !== '') throw new Error(`This submission was already ${p.disposition}.`);
  if (p.status !== 'ready') throw new Error(`This submission is ${p.status}, not ready to confirm or cancel.`);
  if (!['confirm', 'cancel', 'force'].includes(d.action)) throw new Error(`Unknown action '${String(d.action)}': confirm, cancel or force.`);
  if (typeof d.username !== 'string' || !d.username) throw new Error('A decision needs the deciding user.');
}

export async function submissionWorkflow(req: SubmissionInput): Promise<SubmissionOutcome> {
  const { files, certify, deliver, decision: decisions, archive, mail } = submissionActivities(req.maxAttempts ?? DEFAULT_ATTEMPTS);
  const kind = req.kind ?? 'batch';
  const certifyOnly = kind === 'certify';
  // Kinds of catalogued files skip ingest and certify; create_contexts delivers unconfirmed.
  const uploads = UPLOAD_KINDS.includes(kind);
  const unconfirmed = kind === 'create_contexts';
  const steps: StepName[] = certifyOnly
    ? ['ingest', 'certify']
    : (['ingest', 'certify', 'generate', 'confirm', 'deliver', 'archive'] as StepName[]).filter((s) => (uploads || (s !== 'ingest' && s !== 'certify')) && !(unconfirmed && s === 'confirm'));
  const p: SubmissionProgress = {
    ...(req.kind ? { kind: req.kind } : {}),
    submissionId: req.submissionId,
    workflowId: submissionWorkflowId(req.observatory, req.submissionId),
    observatory: req.observatory,
    username: req.username,
    instrument: req.instrument,
    description: req.description,
    resultUrl: req.resultUrl,
    status: 'ingesting',
    steps: steps.map((name) => ({ name, status: 'pending' })),
    files: [],
    context: { mode: req.pmapMode },
    generated: [],
    actions: [],
    disposition: '',
    messages: [],
  };
  let decision: SubmissionDecision | undefined;
  /** The rmaps confirm installs in new imaps and a pmap (kinds other than batch; batch's are its generated rmaps). */
  let contextRmaps: { name: string; derivedFrom: string }[] | undefined;
  let verifying = false;
  /** What the decision check and the confirm need of this submission. */
  const ready = () => ({
    submissionId: req.submissionId,
    observatory: req.observatory,
    username: req.username,
    instrument: req.instrument,
    lockId: req.lockId,
    pmapMode: req.pmapMode,
    pmapName: req.pmapName,
    rmaps: contextRmaps ?? p.generated.filter((g) => g.name.endsWith('.rmap')).map((g) => ({ name: g.name, derivedFrom: g.derivedFrom })),
  });
  // jpoll_abort: honoured until someone decides (a confirmed submission is delivered whatever).
  let abortRequested = false;
  let aborted = false;
  const abortNow = () => abortRequested && !aborted && decision === undefined;
  setHandler(abortSignal, () => void (abortRequested = true));
  setHandler(progressQuery, () => p);
  setHandler(
    decideUpdate,
    async (d) => {
      // Taken at once, so a second decision in the same instant fails validation; given back if refused.
      p.disposition = d.action === 'confirm' ? 'confirmed' : d.action === 'force' ? 'forced' : 'cancelled';
      p.decidedBy = d.username;
      verifying = true;
      try {
        await decisions.verifySubmissionDecision({ ...ready(), action: d.action, decidedBy: d.username });
      } catch (err) {
        p.disposition = '';
        p.decidedBy = undefined;
        throw ApplicationFailure.nonRetryable(userErrorMessage(err) ?? `The decision could not be checked right now; try again. (${String((err as Error).message)})`, 'DecisionRefused');
      } finally {
        verifying = false;
      }
      decision = d;
      say('log_message', `${p.disposition} by '${d.username}'`);
      return { disposition: p.disposition, resultUrl: req.resultUrl };
    },
    { validator: (d) => checkDecision(req, p, d) },
  );

  function say(type: ProgressMessage['type'], data: ProgressMessage['data']): void {
    if (abortNow()) {
      aborted = true;
      throw ApplicationFailure.nonRetryable(ABORT_MESSAGE, SUBMISSION_ERROR);
    }
    p.messages.push({ id: p.messages.length + 1, time: pyTime(Date.now()), type, data });
  }
  const step = (name: StepName) => p.steps.find((s) => s.name === name)!;
  function begin(name: StepName, detail?: string): void {
    Object.assign(step(name), { status: 'running', startedAt: new Date().toISOString(), detail });
  }
  function end(name: StepName, status: 'done' | 'failed' | 'skipped' = 'done', detail?: string): void {
    Object.assign(step(name), { status, endedAt: new Date().toISOString(), ...(detail ? { detail } : {}) });
  }
  /** A stage ended: its result stored in the catalog (pages outlive the history), then the mail. */
  async function stage(event: MailEvent): Promise<void> {
    try {
      await files.saveSubmissionResult({ progress: p });
    } catch (err) {
      log.warn('submission result not saved', { event, error: String(err) });
    }
    await notify(event);
  }
  async function notify(event: MailEvent): Promise<void> {
    try {
      await mail.sendSubmissionMail({ event, progress: p });
    } catch (err) {
      // Mail is a courtesy: a dead mail server never stops a delivery.
      log.warn('submission mail failed', { event, error: String(err) });
    }
  }
  /** Everything this submission cataloged and wrote, for cancel and failure. */
  const created = () => [...p.files.flatMap((f) => (f.name ? [f.name] : [])), ...p.generated.map((g) => g.name)];
  async function removeCreated(): Promise<void> {
    await CancellationScope.nonCancellable(() =>
      files.removeSubmissionFiles({ submissionId: req.submissionId, observatory: req.observatory, username: req.username, names: created() }),
    );
  }
  /** removeCreated on the way out of a failure: a broken disk must not hide the failure itself. */
  async function removeCreatedAfterFailure(): Promise<void> {
    try {
      await removeCreated();
    } catch (err) {
      log.warn('could not remove what the failed submission created', { error: String(err) });
    }
  }

  /** Certify-only (`/certify/`): the results are the submission's; nothing is catalogued. */
  async function finishCertifyOnly(): Promise<SubmissionOutcome> {
    await removeCreated();
    p.status = 'certified';
    say('log_message', `Certified ${p.files.length} file(s) against '${p.context.derivedFrom}'`);
    say('done', { status: 0, result: req.resultUrl });
    await stage('certified');
    return { status: p.status, disposition: p.disposition };
  }

  let current: StepName = uploads ? 'ingest' : 'generate';
  try {
    if (!uploads) {
      p.context.derivedFrom = await files.resolveDerivationContext({ pmapMode: req.pmapMode, pmapName: req.pmapName });
    } else {
      // 1. ingest
      begin('ingest');
      say('log_message', `Ingesting the files of '${req.username}'`);
      p.files = await files.ingestSubmissionFiles({ submissionId: req.submissionId, observatory: req.observatory, username: req.username, names: req.files });
      end('ingest', 'done', `${p.files.length} file(s)`);

      // 2. certify every file, then judge them together
      current = 'certify';
      p.status = 'certifying';
      begin('certify');
      p.context.derivedFrom = await files.resolveDerivationContext({ pmapMode: req.pmapMode, pmapName: req.pmapName });
      say('log_message', `Certifying ${p.files.length} file(s) against '${p.context.derivedFrom}'`);
      for (const f of p.files) {
        const r = await certify.certifySubmissionFile({
          submissionId: req.submissionId,
          observatory: req.observatory,
          uploadedAs: f.uploadedAs,
          context: p.context.derivedFrom,
          compareOldReference: req.compareOldReference,
        });
        f.certify = { errors: r.errors, warnings: r.warnings, findings: r.findings };
        f.instrument = r.instrument;
        f.filekind = r.filekind;
        for (const x of r.findings) if (x.level !== 'INFO') say(x.level === 'ERROR' ? 'error' : 'warning', `${f.uploadedAs}: ${x.message}`);
        say('log_message', `Certified '${f.uploadedAs}': ${r.errors} error(s), ${r.warnings} warning(s)`);
      }
      const bad = p.files.filter((f) => f.certify!.errors > 0);
      if (bad.length) throw ApplicationFailure.nonRetryable(`Certify failed for ${bad.map((f) => `'${f.uploadedAs}'`).join(', ')}.`, SUBMISSION_ERROR);
      // Certify-only needs no instrument lock (crds-protocol.md §5.1).
      // A pmap has no instrument: the web takes one only from a superuser.
      const wrong = certifyOnly ? undefined : p.files.find((f) => f.instrument !== req.instrument.toLowerCase() && !(kind === 'mapping' && f.uploadedAs.endsWith('.pmap')));
      if (wrong) {
        throw ApplicationFailure.nonRetryable(
          `File '${wrong.uploadedAs}' is for instrument '${wrong.instrument}', but you are logged in for '${req.instrument}'.`,
          SUBMISSION_ERROR,
        );
      }
      // certify's group check: all references trial-inserted into their rmaps of the context.
      // Histories recorded before it existed replay without it.
      if ((kind === 'batch' || certifyOnly) && patched('certify-group-check')) {
        p.groupCheck = await files.checkSubmissionGroup({
          submissionId: req.submissionId,
          observatory: req.observatory,
          context: p.context.derivedFrom,
          uploadedAs: p.files.map((f) => f.uploadedAs),
        });
        for (const g of p.groupCheck) {
          const where = g.rmap ? `rmap update check of '${g.rmap}'` : 'rmap update check';
          for (const x of g.findings) if (x.level !== 'INFO') say(x.level === 'ERROR' ? 'error' : 'warning', `${where}: ${x.message}`);
          say('log_message', `Checked ${g.references.map((r) => `'${r}'`).join(', ')} together in the ${where}: ${g.errors} error(s), ${g.warnings} warning(s)`);
        }
        const failed = p.groupCheck.filter((g) => g.errors > 0);
        if (failed.length) {
          throw ApplicationFailure.nonRetryable(
            `Certify's group check failed: ${failed.map((g) => (g.rmap ? `inserting ${g.references.map((r) => `'${r}'`).join(', ')} into '${g.rmap}'` : g.findings.find((x) => x.level === 'ERROR')!.message)).join('; ')}.`,
            SUBMISSION_ERROR,
          );
        }
      }
      end('certify');
      if (certifyOnly) return await finishCertifyOnly();
    }

    // 3. new rules: the rmaps (the imaps and the pmap are made at confirm)
    current = 'generate';
    p.status = 'generating';
    begin('generate');
    const generated = await generateForKind(files, req, p.context.derivedFrom, p.files);
    p.files = generated.files;
    p.generated = generated.generated;
    p.actions = generated.actions;
    if (generated.contextRmaps) contextRmaps = generated.contextRmaps;
    for (const a of generated.actions) say('log_message', a);
    end('generate', 'done', [...generated.generated.map((g) => g.name), ...(contextRmaps ?? []).map((r) => r.name)].join(', '));

    // 4. READY: wait for confirm / cancel / force, or the site's expiry if it has one.
    // Histories recorded before the default expiry was removed keep their 24 hours.
    // create_contexts delivers at once, unconfirmed (as the original).
    if (!unconfirmed) {
      current = 'confirm';
      p.status = 'ready';
      const timeout = req.confirmTimeoutMs ?? (patched('ready-waits-until-decided') ? undefined : DAY_MS);
      if (timeout !== undefined) p.confirmDeadline = new Date(Date.now() + timeout).toISOString();
      begin('confirm', p.confirmDeadline ? `until ${p.confirmDeadline}` : 'until confirmed or cancelled');
      say('done', { status: 0, result: req.resultUrl });
      await stage('ready');
      const waited = () => decision !== undefined || abortRequested;
      const decided = timeout === undefined ? await condition(waited).then(() => true) : await condition(waited, timeout);
      // A decision being checked when the expiry came is let finish first.
      if (!decided) await condition(() => !verifying);
      if (decision === undefined && !abortRequested) {
        p.disposition = 'timed out';
        p.reason = `Nobody confirmed or cancelled the submission before ${p.confirmDeadline}.`;
      }
      if (abortNow()) say('log_message', 'aborted'); // throws the abort
      if (p.disposition === 'cancelled' || p.disposition === 'timed out') {
        await removeCreated();
        end('confirm', 'done', p.disposition);
        for (const s of ['deliver', 'archive'] as const) end(s, 'skipped');
        p.status = 'cancelled';
        say('log_message', p.reason ?? `Cancelled by '${decision!.username}'`);
        await stage('cancelled');
        return { status: p.status, disposition: p.disposition, reason: p.reason };
      }
      end('confirm', 'done', `${p.disposition} by ${p.decidedBy}`);
      await stage(p.disposition === 'forced' ? 'forced' : 'confirmed');
    }

    // 5. under the context-generation lock: imaps and pmap from the context in force now, then deliver
    current = 'deliver';
    p.status = 'delivering';
    begin('deliver', 'new contexts and delivery, one confirmation at a time');
    const withContexts = kind === 'batch' || (contextRmaps !== undefined && contextRmaps.length > 0);
    const delivery: { deliveryId: number; catalog: string; newContext?: string; base?: string; generated?: GeneratedMapping[]; actions?: string[] } = withContexts
      ? await deliver.confirmSubmission({
          ...ready(),
          description: req.description,
          changeLevel: req.changeLevel,
          creator: req.creator,
          // Simple-submitted rmaps are delivered as the context's rmaps, not as references.
          references: kind === 'batch' ? p.files.map((f) => f.name!) : [],
          uploadedAs: p.files.map((f) => f.uploadedAs),
          deliverRmaps: !unconfirmed,
          checkStale: !unconfirmed,
          action: AUDIT_ACTIONS[kind as keyof typeof AUDIT_ACTIONS],
        })
      : await deliver.deliverSubmittedFiles({
          submissionId: req.submissionId,
          observatory: req.observatory,
          username: req.username,
          description: req.description,
          names: p.files.map((f) => f.name!),
          uploadedAs: p.files.map((f) => f.uploadedAs),
          action: AUDIT_ACTIONS[kind as keyof typeof AUDIT_ACTIONS],
        });
    if (delivery.base) {
      p.context.base = delivery.base;
      p.generated.push(...(delivery.generated ?? []));
      p.actions.push(...(delivery.actions ?? []));
      for (const a of delivery.actions ?? []) say('log_message', a);
    }
    p.context.newContext = delivery.newContext;
    p.delivery = { id: delivery.deliveryId, catalog: delivery.catalog, state: 'delivered' };
    p.status = 'delivered';
    end('deliver', 'done', delivery.catalog);
    say(
      'log_message',
      `Delivered ${created().length} file(s) in catalog '${delivery.catalog}'` +
        (delivery.base ? `; edit context '${p.context.newContext}' made from '${delivery.base}'` : p.context.newContext ? `; edit context '${p.context.newContext}'` : ''),
    );
    if (unconfirmed) say('done', { status: 0, result: req.resultUrl });
    await stage('delivered');

    // 6. await the archive: each change of the catalog's name is a new state
    current = 'archive';
    p.status = 'archiving';
    begin('archive');
    let state: DeliveryState = 'delivered';
    while (state !== 'archived') {
      state = await archive.awaitCatalogChange({ observatory: req.observatory, catalog: delivery.catalog, known: state, pollMs: req.archivePollMs ?? 30_000 });
      p.delivery.state = state;
      say('log_message', `Catalog '${delivery.catalog}': ${state}`);
      if (state === 'archiving-failed') {
        p.reason = `The archive failed to ingest catalog '${delivery.catalog}'.`;
        await stage('archiving-failed');
      }
    }
    p.status = 'archived';
    p.reason = undefined;
    end('archive');
    await stage('archived');
    return { status: p.status, disposition: p.disposition, newContext: p.context.newContext, catalog: delivery.catalog };
  } catch (err) {
    // A user error, or a step whose retries are spent: say what is wrong, remove what was
    // made, finish failed with the reason. Anything else (a cancellation) goes on up.
    const message = isCancellation(err) ? undefined : (userErrorMessage(err) ?? exhaustedMessage(err));
    if (message === undefined) {
      if (isCancellation(err) && p.status !== 'delivering' && !p.delivery) await removeCreated();
      throw err;
    }
    if (!p.delivery) await removeCreatedAfterFailure();
    end(current, 'failed', message);
    p.status = 'failed';
    p.reason = message;
    say('error', message);
    say('done', { status: 1, result: message });
    await stage('failed');
    return { status: 'failed', disposition: p.disposition, reason: message };
  }
}
