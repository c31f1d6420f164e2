// Login, logout and instrument locks on the web (crds-protocol.md §5.1–5.2, §8.1;
// docs/submission-protocol.md §5.1–5.2). Logging in for an instrument takes its lock; every
// interactive request of the holder renews it (sessions.ts); logging out releases it.
import express, { type Request, type RequestHandler, type Response } from 'express';
import type { Config } from '../config';
import type { Database } from '../db';
import { PasswordHashingBusy } from '../db/password-gate';
import { loginThrottle } from './hardening';
import { authenticate, maySubmitFor } from '../db/accounts';
import { acquireLock, findLock, LockedError, releaseLocks } from '../db/locks';
import type { InstrumentLockRow } from '../db/models';
import { parseCookies, type Sessions } from './sessions';

export interface AccountsDeps {
  config: Config;
  db: Database;
  sessions: Sessions;
  /** The instruments one may log in for (those of the edit context). */
  instruments(): Promise<string[]>;
}

const MAX_PASSWORD_LENGTH = 1024;

/** The real client's MAST token arrives as the password field and as this cookie. */
const MAST_TOKEN_COOKIE = 'ASB-AUTH';

const field = (body: unknown, name: string): string => {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : '';
};

/** Only a path on this site: never an open redirect to another host (`//evil`, `/\evil`). */
export function localPath(next: string, fallback = '/'): string {
  return /^\/(?![/\\])[^\s]*$/.test(next) ? next : fallback;
}

/**
 * A GET that changes state (logout, the client's upload deletes) is done only for the real
 * client, which sends no Sec-Fetch-* header and names this site as referer; browsers always
 * send Sec-Fetch-Site, and an old one following another site's link sends that site as referer.
 */
export function clientGet(req: Request): boolean {
  if (req.get('sec-fetch-site') !== undefined) return false;
  const referer = req.get('referer');
  if (referer === undefined) return true;
  try {
    return new URL(referer).host === req.get('host');
  } catch {
    return false;
  }
}

/** Pages that need a signed-in user: the login page for a browser, 403 for JSON callers. */
export function requireLogin(json = false): RequestHandler {
  return (req, res, next) => {
    if (req.session) return next();
    if (json) {
      res.status(403).json({ error: 'You must log in first.' });
      return;
    }
    res.redirect(302, `/login/?next=${encodeURIComponent(req.originalUrl)}`);
  };
}

/** "H:MM:SS", as Python prints a timedelta under a day. */
function timeRemaining(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

const pyDateTime = (d: Date): string => d.toISOString().slice(0, 19).replace('T', ' ');

/**
 * The original's lock status answer. The client reads `name` first and, only when it is
 * not empty, `is_expired`, `type` and `user` (which every held or expired lock carries).
 */
export function lockStatus(username: string, lock: InstrumentLockRow | null, now = new Date()) {
  if (!lock) return { name: '', user: username, type: 'instrument', status: 'error', exception: 'no lock found.' };
  const expired = lock.expiresAt <= now;
  return {
    name: lock.name,
    user: lock.username,
    type: lock.type,
    status: expired ? 'error' : 'ok',
    created_on: pyDateTime(lock.createdOn),
    is_expired: expired,
    time_remaining: timeRemaining(lock.expiresAt.getTime() - now.getTime()),
    ...(expired ? { exception: 'lock expired.' } : {}),
  };
}

export function accountsRouter(deps: AccountsDeps): express.Router {
  const { db, sessions } = deps;
  const router = express.Router();

  const loginPage = async (res: Response, values: { username?: string; instrument?: string; next: string }, errorMessage?: string) => {
    res.render('login', { title: 'Log in', instruments: await deps.instruments(), values, errorMessage });
  };

  router.get('/login/', async (req, res) => {
    await loginPage(res, { next: localPath(String(req.query.next ?? '/')), instrument: req.session?.instrument });
  });

  const throttle = loginThrottle(deps.config, db, (req, res, message) =>
    loginPage(res, { username: field(req.body, 'username').trim(), instrument: field(req.body, 'instrument'), next: localPath(field(req.body, 'next')) }, message),
  );

  router.post('/login/', ...throttle, async (req, res) => {
    const username = field(req.body, 'username').trim();
    const password = field(req.body, 'password') || parseCookies(req.headers.cookie).get(MAST_TOKEN_COOKIE) || '';
    const instrument = (field(req.body, 'instrument') || 'none').trim().toLowerCase();
    const next = localPath(field(req.body, 'next'));
    // Failures are a 200 page with the error div: the client prints the div's text, while a
    // 4xx status would only give it "HTTP error status".
    const fail = async (message: string) => {
      await sessions.end(req, res);
      await loginPage(res, { username, instrument, next }, message);
    };
    if (!username || !password) return fail('Enter a user name and a password.');
    // No real password or token is this long; hashing megabytes would only cost the server.
    if (password.length > MAX_PASSWORD_LENGTH || username.length > 150) return fail('Invalid user name or password.');
    const instruments = await deps.instruments();
    if (instrument !== 'none' && !instruments.includes(instrument)) {
      return fail(`Unknown instrument '${instrument}': choose one of ${[...instruments, 'none'].join(', ')}.`);
    }
    let user;
    try {
      user = await authenticate(db, username, password);
    } catch (err) {
      if (!(err instanceof PasswordHashingBusy)) throw err;
      res.status(503).set('retry-after', '5');
      return fail(err.message);
    }
    if (!user) return fail('Invalid user name or password.');
    let lock: InstrumentLockRow | null = null;
    if (instrument !== 'none') {
      if (!(await maySubmitFor(db, user, instrument))) return fail(`User '${username}' may not submit files for instrument '${instrument}'.`);
      // Keep the instrument already held; give up any other before taking a new one.
      const held = await findLock(db, username);
      if (held && held.name !== instrument) await releaseLocks(db, username);
      try {
        lock = await acquireLock(db, { name: instrument, username });
      } catch (err) {
        if (err instanceof LockedError) return fail(err.message);
        throw err;
      }
    }
    await sessions.open(req, res, user, { instrument, lock });
    res.redirect(302, next);
  });

  const logout = async (req: Request, res: Response) => {
    if (req.session) await releaseLocks(db, req.session.username);
    await sessions.end(req, res);
    res.redirect(302, '/');
  };
  // Our pages log out with a POST (CSRF-checked like every POST). The GET stays for the real
  // client's `crds submit --logout`, which sends no Sec-Fetch-* headers and names this site
  // as referer: a browser's GET (a link, an image another page embeds) only gets the form.
  router.post('/logout/', logout);
  router.get('/logout/', async (req, res) => {
    if (clientGet(req)) return logout(req, res);
    res.render('logout', { title: 'Log out' });
  });

  // Anonymous, as the original: the client asks before it logs in.
  router.get('/lock_status/:user/', async (req, res) => {
    const username = String(req.params.user);
    res.json(lockStatus(username, await findLock(db, username)));
  });

  router.get('/lock_status/', async (_req, res) => {
    const now = new Date();
    const locks = await db.models.InstrumentLock.findAll({ order: [['type', 'ASC'], ['name', 'ASC']] });
    res.render('lock-status', { title: 'Lock status', locks: locks.map((l) => lockStatus(l.username, l, now)), now: pyDateTime(now) });
  });

  return router;
}
