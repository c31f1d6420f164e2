// Sessions and CSRF for the interactive pages, as the real `crds submit` client expects
// them from the original Django server (docs/submission-protocol.md §3).
//
// Sessions live in the database (db/web-sessions.ts); the cookie holds only a random key.
// A session ends at once on logout, on a password change (its row is deleted, and it is bound
// to the password hash it was opened with), when the instrument lock it was opened with is
// released or expires (confirm, logout elsewhere, the lock cleaner), after CRDS_SESSION_IDLE_MINUTES
// without a request, and 18 hours after login at the latest (the original's lifetime).
//
// CSRF: a `csrftoken` cookie on every interactive response (the client reads it from *that*
// response), echoed as the form field `csrfmiddlewaretoken` or the `X-CSRFToken` header on
// every unsafe request. Signed in, the token is derived from the session's key (an HMAC with
// the site's secret), so it is new at every login and no cookie another site plants matches
// it; before login it is Django's double submit of the cookie (only the login form posts then).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { ConfigError, type Config } from '../config';
import type { Database } from '../db';
import type { UserRow } from '../db/models';
import { findLock, lockId, renewLocks } from '../db/locks';
import type { InstrumentLockRow } from '../db/models';
import { endWebSession, findWebSession, openWebSession, passwordDigest, touchWebSession, updateWebSession, type WebSessionRow } from '../db/web-sessions';

export const SESSION_COOKIE = 'crds_session';
export const CSRF_COOKIE = 'csrftoken';
/** Sessions.grantResult's cookie. */
export const RESULT_COOKIE = 'crds_result';
export const CSRF_FIELD = 'csrfmiddlewaretoken';
/** The original's session lifetime: 18 hours from login, not extended by activity. */
export const SESSION_MAX_AGE_MS = 18 * 60 * 60 * 1000;

export interface Session {
  username: string;
  /** The instrument chosen at login, or 'none'. */
  instrument: string;
  /** The jpoll channel most recently opened in this session (the client's POST names none). */
  jpollKey?: string;
  /** Login time, ms since the epoch. */
  issuedAt: number;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The signed-in session, when its cookie is valid and its user still active. */
      session?: Session;
      user?: UserRow;
      /** This request's CSRF token: the session's, or before login the cookie's (or a new one). */
      csrfToken?: string;
      /** The session cookie's key, when the session is valid. */
      sessionKey?: string;
    }
  }
}

/**
 * The key that signs sessions: CRDS_SECRET_KEY; a local site makes one once in
 * $CRDS_VAR_DIR/secret_key and keeps it (so sessions survive restarts); any other site
 * must be given one, so that several web processes agree and nothing guessable signs.
 */
export function sessionSecret(config: Config): string {
  if (config.secretKey) return config.secretKey;
  if (config.usecase !== 'local') {
    throw new ConfigError(`CRDS_SECRET_KEY is missing: CRDS_USECASE=${config.usecase} needs a secret of at least 32 characters to sign sessions`);
  }
  try {
    return fs.readFileSync(config.secretKeyFile, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(path.dirname(config.secretKeyFile), { recursive: true });
  const key = randomBytes(32).toString('hex');
  try {
    fs.writeFileSync(config.secretKeyFile, `${key}\n`, { mode: 0o600, flag: 'wx' });
    return key;
  } catch (err) {
    // Another process made it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return fs.readFileSync(config.secretKeyFile, 'utf8').trim();
    throw err;
  }
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      value = decodeURIComponent(value);
    } catch {
      continue;
    }
    if (!cookies.has(name)) cookies.set(name, value);
  }
  return cookies;
}

const sameBytes = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** The session cookie's value: 32 random bytes, base64url. */
const SESSION_KEY = /^[A-Za-z0-9_-]{43}$/;
const CSRF_TOKEN = /^[A-Za-z0-9]{32,64}$/;
const newAnonymousToken = (): string => randomBytes(24).toString('base64url').replace(/[-_]/g, 'x');

export class Sessions {
  /** Cookies are Secure only on an https site: the client drops Secure cookies over http. */
  private readonly secure: boolean;

  constructor(
    private readonly db: Database,
    private readonly secret: string,
    siteUrl: string,
    /** A session unused this long ends. */
    private readonly idleMs = 4 * 60 * 60 * 1000,
  ) {
    this.secure = siteUrl.startsWith('https:');
  }

  /** The CSRF token of a signed-in session: only the server, knowing the key, can make it. */
  private sessionToken(key: string): string {
    return createHmac('sha256', this.secret).update(`csrf:${key}`).digest('hex');
  }

  private cookieOptions(maxAgeMs: number, httpOnly: boolean): express.CookieOptions {
    return { path: '/', sameSite: 'lax', secure: this.secure, httpOnly, maxAge: maxAgeMs };
  }

  /** Sets this response's csrftoken cookie (replacing one set earlier in the same response) and the token pages show. */
  private setCsrf(req: Request, res: Response, token: string): void {
    req.csrfToken = token;
    res.locals.csrfToken = token;
    const earlier = res.getHeader('set-cookie');
    if (Array.isArray(earlier)) res.setHeader('set-cookie', earlier.filter((c) => !c.startsWith(`${CSRF_COOKIE}=`)));
    // Not HttpOnly, as Django's: the upload page's script sends it as X-CSRFToken.
    res.cookie(CSRF_COOKIE, token, this.cookieOptions(365 * 24 * 3600 * 1000, false));
  }

  /**
   * Opens a session at login (ending the request's earlier one), bound to the user's password
   * and to the instrument lock just taken; a new CSRF token goes with it.
   */
  async open(req: Request, res: Response, user: UserRow, opened: { instrument: string; lock: InstrumentLockRow | null }): Promise<void> {
    if (req.sessionKey) await endWebSession(this.db, req.sessionKey);
    const { key } = await openWebSession(this.db, {
      username: user.username,
      instrument: opened.instrument,
      lockId: opened.lock ? lockId(opened.lock) : null,
      passwordHash: user.passwordHash,
    });
    req.sessionKey = key;
    res.cookie(SESSION_COOKIE, key, this.cookieOptions(SESSION_MAX_AGE_MS, true));
    this.setCsrf(req, res, this.sessionToken(key));
  }

  /** Remembers the session's jpoll channel. */
  async setJpollKey(req: Request, jpollKey: string): Promise<void> {
    if (req.sessionKey) await updateWebSession(this.db, req.sessionKey, { jpollKey });
  }

  /** Ends the request's session (logout, confirm): its row goes, the cookie is cleared, the CSRF token changes. */
  async end(req: Request, res: Response): Promise<void> {
    if (req.sessionKey) await endWebSession(this.db, req.sessionKey);
    req.sessionKey = undefined;
    req.session = undefined;
    req.user = undefined;
    res.locals.session = undefined;
    this.clear(res);
    this.setCsrf(req, res, newAnonymousToken());
  }

  private clear(res: Response): void {
    res.clearCookie(SESSION_COOKIE, { path: '/', sameSite: 'lax', secure: this.secure, httpOnly: true });
  }

  private mac(data: string): string {
    return createHmac('sha256', this.secret).update(data).digest('base64url');
  }

  /** A confirm logs the submitter out (as the original): this browser may still read that submission's result for a day. */
  grantResult(res: Response, resultsId: string): void {
    res.cookie(RESULT_COOKIE, `${resultsId}.${this.mac(`result:${resultsId}`)}`, this.cookieOptions(24 * 3600 * 1000, true));
  }

  /** True when the request carries grantResult's cookie for `resultsId`. */
  mayReadResult(req: Request, resultsId: string): boolean {
    const raw = parseCookies(req.headers.cookie).get(RESULT_COOKIE) ?? '';
    const dot = raw.lastIndexOf('.');
    return dot > 0 && raw.slice(0, dot) === resultsId && sameBytes(this.mac(`result:${resultsId}`), raw.slice(dot + 1));
  }

  /**
   * Reads the session into req.session and req.user, renews the lease of the user's locks
   * (every interactive request of the holder keeps its lock for 4 more hours), and gives
   * every response a `csrftoken` cookie: the client reads the token for its next POST from
   * the cookies of the very response before, login page, upload chunk or form page alike.
   */
  middleware(): RequestHandler {
    return async (req: Request, res: Response, next: NextFunction) => {
      const cookies = parseCookies(req.headers.cookie);
      const key = cookies.get(SESSION_COOKIE);
      if (key !== undefined) {
        const found = SESSION_KEY.test(key) ? await this.verify(key) : undefined;
        if (found) {
          req.session = found.session;
          req.user = found.user;
          req.sessionKey = key;
          await renewLocks(this.db, found.user.username);
        } else {
          this.clear(res);
        }
      }
      const anonymous = cookies.get(CSRF_COOKIE);
      this.setCsrf(req, res, req.sessionKey ? this.sessionToken(req.sessionKey) : anonymous && CSRF_TOKEN.test(anonymous) ? anonymous : newAnonymousToken());
      next();
    };
  }

  /** The session and its user when the session is still valid; an ended one's row is deleted. */
  private async verify(key: string): Promise<{ session: Session; user: UserRow } | undefined> {
    const row = await findWebSession(this.db, key);
    if (!row) return undefined;
    const user = await this.validUser(row);
    if (!user) {
      await endWebSession(this.db, key);
      return undefined;
    }
    await touchWebSession(this.db, row);
    return {
      session: { username: row.username, instrument: row.instrument, jpollKey: row.jpollKey ?? undefined, issuedAt: row.createdAt.getTime() },
      user,
    };
  }

  private async validUser(row: WebSessionRow, now = new Date()): Promise<UserRow | undefined> {
    if (now.getTime() > row.createdAt.getTime() + SESSION_MAX_AGE_MS) return undefined;
    if (now.getTime() > row.lastSeenAt.getTime() + this.idleMs) return undefined;
    const user = await this.db.models.User.findOne({ where: { username: row.username, isActive: true } });
    if (!user || !sameBytes(passwordDigest(user.passwordHash), row.auth)) return undefined;
    if (row.lockId !== null) {
      // Logged in for an instrument: the session lasts as long as that very lock.
      const lock = await findLock(this.db, row.username);
      if (!lock || lock.expiresAt <= now || lockId(lock) !== row.lockId) return undefined;
    }
    return user;
  }
}

/** True when `supplied` (form field or header) is the request's CSRF token (the session's, or before login the cookie's). */
export function csrfMatches(req: Request, supplied: unknown): boolean {
  if (typeof supplied !== 'string' || !req.csrfToken) return false;
  if (!req.sessionKey && parseCookies(req.headers.cookie).get(CSRF_COOKIE) !== req.csrfToken) return false;
  return sameBytes(req.csrfToken, supplied);
}

export const csrfHeader = (req: Request): string | undefined => req.get('x-csrftoken') ?? undefined;

/** What a refused forgery sees: a page the client's check_error reports. */
export function csrfRefusal(res: Response, why: string): void {
  res.status(403).render('error', { title: 'Forbidden', message: `CSRF verification failed: ${why}`, errorMessage: `CSRF verification failed: ${why}` });
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses every unsafe request whose token does not match the cookie. Form bodies
 * (urlencoded) are parsed here; multipart bodies are not: the upload router, mounted before
 * this, checks their token itself while streaming, and anywhere else they need the header.
 */
export function requireCsrf(): RequestHandler[] {
  return [
    express.urlencoded({ extended: false, limit: '256kb' }),
    (req, res, next) => {
      if (SAFE_METHODS.has(req.method)) return next();
      const supplied = csrfHeader(req) ?? (req.body as Record<string, unknown> | undefined)?.[CSRF_FIELD];
      if (!req.sessionKey && !parseCookies(req.headers.cookie).get(CSRF_COOKIE)) return csrfRefusal(res, 'the CSRF cookie is not set.');
      if (!csrfMatches(req, supplied)) return csrfRefusal(res, 'the CSRF token is missing or incorrect.');
      next();
    },
  ];
}
