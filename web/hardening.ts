// Security headers of every page and download (helmet), and the throttling of logins
// (express-rate-limit), per account and per client address, counted in the database.
import helmet from 'helmet';
import { rateLimit, type Options as RateLimitOptions } from 'express-rate-limit';
import type { Request, RequestHandler, Response } from 'express';
import type { Config } from '../config';
import type { Database } from '../db';
import { DatabaseThrottleStore } from '../db/login-throttle';

/**
 * The usual headers. The content security policy allows only this site's own scripts and
 * styles (no inline script or style attribute anywhere in the views), no framing; HSTS and the
 * upgrade of insecure requests only when the site's URL is https (on an http site they would
 * send browsers to a port that speaks no TLS).
 */
export function securityHeaders(config: Config): RequestHandler {
  const https = config.siteUrl.startsWith('https:');
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        ...(https ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    strictTransportSecurity: https ? { maxAge: 365 * 24 * 3600, includeSubDomains: false } : false,
    referrerPolicy: { policy: 'same-origin' },
    frameguard: { action: 'deny' },
  });
}

/** What a throttled login answers: the login page with its error, status 429 (Retry-After is set). */
export type LoginRefusal = (req: Request, res: Response, message: string) => Promise<void> | void;

/** The account a login names, as the limiter keys it (names are matched case-insensitively by MariaDB). */
const accountKey = (req: Request): string => {
  const v = (req.body as Record<string, unknown> | undefined)?.username;
  return `account:${(typeof v === 'string' ? v : '').trim().toLowerCase().slice(0, 150)}`;
};

/**
 * Failed logins are counted per account and per client address within the window; a login
 * that succeeds (a redirect) is not counted. Past either limit the login is refused before its
 * password is hashed. Counts are kept in the database, shared by every web process of the site.
 */
export function loginThrottle(config: Config, db: Database, refuse: LoginRefusal): RequestHandler[] {
  const { loginWindowMs, loginFailuresPerAccount, loginFailuresPerAddress } = config.security;
  const common: Partial<RateLimitOptions> = {
    windowMs: loginWindowMs,
    standardHeaders: 'draft-6',
    legacyHeaders: false,
    skipSuccessfulRequests: true,
    requestWasSuccessful: (_req, res) => res.statusCode === 302,
  };
  const handler =
    (what: string): RateLimitOptions['handler'] =>
    (req, res) => {
      const seconds = Number(res.getHeader('retry-after')) || Math.ceil(loginWindowMs / 1000);
      res.status(429);
      return refuse(req, res, `Too many failed logins ${what}: try again in ${Math.ceil(seconds / 60)} minute(s).`);
    };
  return [
    rateLimit({ ...common, limit: loginFailuresPerAddress, store: new DatabaseThrottleStore(db, 'address:'), handler: handler('from your address') }),
    rateLimit({ ...common, limit: loginFailuresPerAccount, store: new DatabaseThrottleStore(db, 'login:'), keyGenerator: accountKey, handler: handler('for this account') }),
  ];
}
