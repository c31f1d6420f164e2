// Sessions and CSRF for the interactive pages, as the real `crds submit` client expects
// them from the original Django server (docs/submission-protocol.md §3).
//
// Sessions are signed cookies (HMAC-SHA256 with the site's secret key), not a table: a
// session is only "who, logged in for which instrument, with which jpoll channel", and the
// state that matters (the instrument lock) is in the database. Like Django, the signature
// covers a digest of the user's password hash, so changing a password ends every session
// of that user; logout forgets the cookie and releases the locks.
//
// CSRF is Django's double submit: a `csrftoken` cookie on every interactive response (the
// client reads it from *that* response), echoed as the form field `csrfmiddlewaretoken` or
// the `X-CSRFToken` header on every unsafe request.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { ConfigError, type Config } from '../config';
import type { Database } from '../db';
import type { UserRow } from '../db/models';
import { renewLocks } from '../db/locks';

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
      /** This request's CSRF token (the cookie's, or a new one). */
      csrfToken?: string;
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

export class Sessions {
  /** Cookies are Secure only on an https site: the client drops Secure cookies over http. */
  private readonly secure: boolean;

  constructor(
    private readonly db: Database,
    private readonly secret: string,
    siteUrl: string,
  ) {
    this.secure = siteUrl.startsWith('https:');
  }

  private mac(data: string): string {
    return createHmac('sha256', this.secret).update(data).digest('base64url');
  }

  /** Binds a session to the password it was opened with. */
  private authHash(user: UserRow): string {
    return this.mac(`password:${user.passwordHash ?? ''}`).slice(0, 22);
  }

  private cookieOptions(maxAgeMs: number, httpOnly: boolean): express.CookieOptions {
    return { path: '/', sameSite: 'lax', secure: this.secure, httpOnly, maxAge: maxAgeMs };
  }

  /** Signs the session into the response's cookie (login, and any change such as the jpoll key). */
  save(res: Response, user: UserRow, session: Session): void {
    const payload = Buffer.from(JSON.stringify({ ...session, auth: this.authHash(user) })).toString('base64url');
    const left = Math.max(0, session.issuedAt + SESSION_MAX_AGE_MS - Date.now());
    res.cookie(SESSION_COOKIE, `${payload}.${this.mac(payload)}`, this.cookieOptions(left, true));
  }

  clear(res: Response): void {
    res.clearCookie(SESSION_COOKIE, { path: '/', sameSite: 'lax', secure: this.secure, httpOnly: true });
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
   * Reads the session cookie into req.session and req.user, and renews the lease of the
   * user's locks: every interactive request of the holder keeps its lock for 4 more hours.
   */
  middleware(): RequestHandler {
    return async (req: Request, _res: Response, next: NextFunction) => {
      const raw = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
      const session = raw ? await this.verify(raw) : undefined;
      if (session) {
        req.session = session.session;
        req.user = session.user;
        await renewLocks(this.db, session.user.username);
      }
      next();
    };
  }

  private async verify(cookie: string): Promise<{ session: Session; user: UserRow } | undefined> {
    const dot = cookie.indexOf('.');
    if (dot < 0 || !sameBytes(this.mac(cookie.slice(0, dot)), cookie.slice(dot + 1))) return undefined;
    let parsed: Session & { auth?: string };
    try {
      parsed = JSON.parse(Buffer.from(cookie.slice(0, dot), 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    if (typeof parsed.username !== 'string' || typeof parsed.issuedAt !== 'number') return undefined;
    if (Date.now() > parsed.issuedAt + SESSION_MAX_AGE_MS) return undefined;
    const user = await this.db.models.User.findOne({ where: { username: parsed.username, isActive: true } });
    if (!user || !sameBytes(this.authHash(user), String(parsed.auth))) return undefined;
    const { auth: _auth, ...session } = parsed;
    return { session, user };
  }

  /**
   * Gives every response a `csrftoken` cookie (the same value while the browser keeps it):
   * the real client reads the token for its next POST from the cookies of the very
   * response before, login page, upload chunk or form page alike.
   */
  csrfCookie(): RequestHandler {
    return (req, res, next) => {
      const current = parseCookies(req.headers.cookie).get(CSRF_COOKIE);
      req.csrfToken = current && CSRF_TOKEN.test(current) ? current : randomBytes(24).toString('base64url').replace(/[-_]/g, 'x');
      // Not HttpOnly, as Django's: the upload page's script sends it as X-CSRFToken.
      res.cookie(CSRF_COOKIE, req.csrfToken, this.cookieOptions(365 * 24 * 3600 * 1000, false));
      next();
    };
  }
}

const CSRF_TOKEN = /^[A-Za-z0-9]{32,64}$/;

/** True when `supplied` (form field or header) matches the request's csrftoken cookie. */
export function csrfMatches(req: Request, supplied: unknown): boolean {
  const cookie = parseCookies(req.headers.cookie).get(CSRF_COOKIE);
  return typeof supplied === 'string' && cookie !== undefined && CSRF_TOKEN.test(cookie) && sameBytes(cookie, supplied);
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
      if (!parseCookies(req.headers.cookie).get(CSRF_COOKIE)) return csrfRefusal(res, 'the CSRF cookie is not set.');
      if (!csrfMatches(req, supplied)) return csrfRefusal(res, 'the CSRF token is missing or incorrect.');
      next();
    },
  ];
}
