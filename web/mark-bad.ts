// Mark Files Bad from the web (crds-protocol.md §4.4, `/mark_bad/`): a logged-in user of a
// submitting group rejects (badflag=bad) or clears (badflag=ok) known files of instruments
// they may submit for, with a reason; db/catalog.ts markFilesBad does it all or nothing (an
// unknown file or one in the latest context changes nothing), and the site's list and the
// user get the original's "Marked Files BAD" mail. Clients see the result in bad_files_list.
import * as path from 'node:path';
import express, { type Request, type Response } from 'express';
import type { Config } from '../config';
import type { Database } from '../db';
import { submittableInstruments } from '../db/accounts';
import { CatalogError, markFilesBad } from '../db/catalog';
import { requireLogin } from './accounts';
import { formOf, type Form } from './submit';
import { sendSiteMail } from './site-mail';

export interface MarkBadDeps {
  config: Config;
  db: Database;
}

/** The original's DESCRIPTION_RE for `why`. */
const WHY = /^[A-Za-z0-9._\s/,=\-+]{1,2000}$/;
const FILE = /^[A-Za-z0-9._-]{1,128}$/;

export function markBadRouter(deps: MarkBadDeps): express.Router {
  const { db, config } = deps;
  const router = express.Router();

  function page(res: Response, form: Form, extra: { errorMessage?: string; done?: { rejected: string[]; cleared: string[]; blacklisted: string[] } } = {}, status = 200) {
    res.status(status).render('mark-bad', { title: 'Mark files bad', form, ...extra });
  }

  router.get('/mark_bad/', requireLogin(), (_req, res) => page(res, { badflag: 'bad' }));

  router.post('/mark_bad/', requireLogin(), async (req: Request, res: Response) => {
    const form = formOf(req.body);
    const refuse = (message: string, status = 200) => page(res, form, { errorMessage: message }, status);
    const names = [...new Set((form.file_known ?? '').split(/[\s,]+/).filter(Boolean))];
    if (!names.length) return refuse('Name at least one known file (file_known).');
    const badName = names.find((n) => !FILE.test(n));
    if (badName !== undefined) return refuse(`Invalid file name '${badName.slice(0, 128)}'.`);
    const badflag = form.badflag ?? '';
    if (badflag !== 'bad' && badflag !== 'ok') return refuse(`Invalid badflag '${badflag.slice(0, 20)}': use bad or ok.`);
    const why = (form.why ?? '').trim();
    if (!WHY.test(why)) return refuse('Invalid reason (why): 1 to 2000 characters of letters, digits, spaces and . _ / , = - +');

    // Only files of the instruments the user's groups submit for (superusers: any).
    const user = req.user!;
    const allowed = await submittableInstruments(db, user);
    if (allowed !== '*' && !allowed.length) return refuse(`User '${user.username}' is in no group that submits files.`);
    const rows = await db.models.CatalogFile.findAll({ attributes: ['name', 'instrument'], where: { name: names } });
    const unknown = names.filter((n) => !rows.some((r) => r.name === n));
    if (unknown.length) return refuse(`File ${unknown.map((n) => `'${n}'`).join(', ')} is not known to CRDS.`);
    const foreign = allowed === '*' ? [] : rows.filter((r) => !allowed.includes(r.instrument.toLowerCase()));
    if (foreign.length) {
      return refuse(`User '${user.username}' may not mark files of instrument '${foreign[0]!.instrument || 'none'}' (${foreign.map((r) => `'${r.name}'`).join(', ')}).`);
    }
    let result: { rejected: string[]; blacklisted: string[] };
    try {
      result = await markFilesBad(db, {
        names,
        bad: badflag === 'bad',
        reason: why,
        username: user.username,
        mappingsDir: path.join(config.fileCache, 'mappings', config.observatory),
      });
    } catch (err) {
      if (err instanceof CatalogError) return refuse(err.message);
      throw err;
    }
    const verb = badflag === 'bad' ? 'BAD' : 'OK';
    const subject = `Marked Files ${verb} by ${user.username}.`;
    const text = [
      `User '${user.username}' marked these files as '${verb}':`,
      ...names.sort().map((n) => `  ${n}`),
      '',
      `Reason: ${why}`,
      ...(result.blacklisted.length ? ['', 'Mappings blacklisted because they use a rejected mapping:', ...result.blacklisted.map((n) => `  ${n}`)] : []),
      '',
    ].join('\n');
    try {
      await sendSiteMail(config, [...new Set([...(user.email ? [user.email] : []), ...config.mail.to])], subject, text);
    } catch (err) {
      // Marked already: a dead mail server is reported, not undone.
      console.warn(`mark_bad mail failed: ${String(err)}`);
    }
    page(res, { badflag }, { done: { rejected: result.rejected, cleared: badflag === 'ok' ? names.sort() : [], blacklisted: result.blacklisted } });
  });

  return router;
}
