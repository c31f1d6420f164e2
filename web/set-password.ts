// `/set_password/` (crds-protocol.md §5.1): a logged-in user changes their own password (the
// MAST token the real client sends) after giving the current one; the form is CSRF-checked
// like every POST. Nothing changes unless every check passes.
import express, { type Response } from 'express';
import type { Database } from '../db';
import { authenticate, setPassword } from '../db/accounts';
import { requireLogin } from './accounts';
import { formOf } from './submit';

/** Long enough to resist guessing, short enough for scrypt's input. */
const MIN_PASSWORD = 12;
const MAX_PASSWORD = 1024;

export function setPasswordRouter(deps: { db: Database }): express.Router {
  const router = express.Router();
  const page = (res: Response, extra: { errorMessage?: string; changed?: boolean } = {}) => res.render('set-password', { title: 'Set password', ...extra });

  router.get('/set_password/', requireLogin(), (_req, res) => page(res));

  router.post('/set_password/', requireLogin(), async (req, res) => {
    const form = formOf(req.body);
    const username = req.session!.username;
    const [current, next, again] = [form.old_password ?? '', form.new_password1 ?? '', form.new_password2 ?? ''];
    if (!(await authenticate(deps.db, username, current))) return page(res, { errorMessage: 'Your current password is not correct.' });
    if (next.length < MIN_PASSWORD || next.length > MAX_PASSWORD) return page(res, { errorMessage: `The new password must have ${MIN_PASSWORD} to ${MAX_PASSWORD} characters.` });
    if (next !== again) return page(res, { errorMessage: 'The two new passwords differ.' });
    if (next === current) return page(res, { errorMessage: 'The new password is the current one.' });
    await setPassword(deps.db, username, next);
    page(res, { changed: true });
  });

  return router;
}
