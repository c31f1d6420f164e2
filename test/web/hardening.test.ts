// Issue 13, items 7–10, over HTTP against the real app on real MariaDB: sessions that end when
// they should, login throttling and bounded password hashing, CSRF bound to the session, the
// logout POST, security headers, /health for anonymous callers, and the SQLite file's mode.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Server } from 'node:http';
import { createUser, setGroup, setPassword } from '../../db/accounts';
import { releaseLocks } from '../../db/locks';
import { passwordHashing } from '../../db/password-gate';
import { openDatabase } from '../../db';
import { createWebServer } from '../../web/app';
import { TemporalLink } from '../../web/temporal';
import { startSite, DEMO_CACHE, type Site } from '../jsonrpc/site';
import { freePorts } from '../support/ports';
import { REPO_ROOT } from '../support/paths';
import { errorDiv, WebSession } from './web-session';

let site: Site;
// Each throttling test comes from an address of its own (the site believes one proxy).
let address = 0;
const fromAddress = () => ({ 'x-forwarded-for': `203.0.113.${++address}` });

beforeAll(async () => {
  site = await startSite({
    observatory: 'hst',
    source: DEMO_CACHE,
    env: { CRDS_LOGIN_FAILURES_PER_ACCOUNT: '3', CRDS_LOGIN_FAILURES_PER_ADDRESS: '5', CRDS_TRUST_PROXY: '1' },
  });
  for (const [username, superuser] of [['alice', false], ['bob', false], ['dave', false], ['root', true]] as const) {
    await createUser(site.db, { username, password: `${username}-password`, isSuperuser: superuser });
  }
  await setGroup(site.db, 'acs-team', ['acs', 'wfc3'], ['alice', 'bob', 'dave']);
});
afterAll(async () => {
  await site.close();
});
afterEach(async () => {
  await site.db.models.InstrumentLock.destroy({ where: {} });
});

/** A session that carries only the given cookies (what an attacker replays). */
function replay(cookies: Map<string, string>): WebSession {
  const web = new WebSession(site.url);
  for (const [k, v] of cookies) web.cookies.set(k, v);
  return web;
}
const signedIn = async (web: WebSession) => (await web.get('/upload/list/')).status === 200;

describe('sessions end when they should (item 7)', () => {
  it('a cookie saved before logout no longer works after it, nor after a new login of the same user', async () => {
    const web = new WebSession(site.url);
    expect((await web.login('alice', 'alice-password', 'acs', fromAddress())).status).toBe(302);
    const saved = new Map(web.cookies);
    expect(await signedIn(replay(saved))).toBe(true);
    expect((await web.post('/logout/', {})).status).toBe(302);
    expect(await signedIn(replay(saved))).toBe(false);
    // Alice logs in again and takes the lock again: the old cookie does not pick it up.
    expect((await new WebSession(site.url).login('alice', 'alice-password', 'acs', fromAddress())).status).toBe(302);
    const old = replay(saved);
    expect((await old.get('/batch_submit_references/')).status).toBe(302);
    expect(await signedIn(old)).toBe(false);
  });

  it('keeps only a digest of the cookie in the database', async () => {
    const web = new WebSession(site.url);
    await web.login('bob', 'bob-password', 'none', fromAddress());
    const key = web.cookies.get('crds_session')!;
    const [rows] = await site.db.sequelize.query('SELECT * FROM web_sessions');
    expect(JSON.stringify(rows)).not.toContain(key);
    expect(rows.length).toBeGreaterThan(0);
  });

  it('ends the session when the instrument lock it was opened with is released (confirm, lock cleaner)', async () => {
    const web = new WebSession(site.url);
    await web.login('alice', 'alice-password', 'acs', fromAddress());
    expect(await signedIn(web)).toBe(true);
    await releaseLocks(site.db, 'alice');
    expect(await signedIn(web)).toBe(false);
    // A session logged in for no instrument has no lock to lose.
    const none = new WebSession(site.url);
    await none.login('alice', 'alice-password', 'none', fromAddress());
    await releaseLocks(site.db, 'alice');
    expect(await signedIn(none)).toBe(true);
  });

  it('ends every session of a user at a password change', async () => {
    const web = new WebSession(site.url);
    await web.login('dave', 'dave-password', 'none', fromAddress());
    expect(await signedIn(web)).toBe(true);
    await setPassword(site.db, 'dave', 'dave-password-2');
    expect(await signedIn(web)).toBe(false);
    const [rows] = await site.db.sequelize.query("SELECT * FROM web_sessions WHERE username = 'dave'");
    expect(rows).toEqual([]);
    await setPassword(site.db, 'dave', 'dave-password');
  });

  it('ends a session idle longer than CRDS_SESSION_IDLE_MINUTES (default 4 hours)', async () => {
    const web = new WebSession(site.url);
    await web.login('bob', 'bob-password', 'none', fromAddress());
    expect(await signedIn(web)).toBe(true);
    // Four hours and a minute pass without a request.
    await site.db.sequelize.query('UPDATE web_sessions SET last_seen_at = ? WHERE username = ?', { replacements: [new Date(Date.now() - 241 * 60_000), 'bob'] });
    expect(await signedIn(web)).toBe(false);
  });

  it('refuses forged, truncated and garbage session cookies', async () => {
    for (const value of ['x', 'A'.repeat(43), `${'A'.repeat(43)}.sig`, '%00%ff', 'e30.e30', 'a'.repeat(5000)]) {
      const web = replay(new Map([['crds_session', value]]));
      const reply = await web.get('/upload/list/');
      expect(reply.status).toBe(403);
    }
  });
});

describe('CSRF bound to the session, logout a POST (item 9)', () => {
  it('rotates the token at login and refuses the token from before it', async () => {
    const web = new WebSession(site.url);
    await web.get('/login/');
    const before = web.cookies.get('csrftoken')!;
    const login = await web.post('/login/', { username: 'bob', password: 'bob-password', instrument: 'none' }, fromAddress());
    expect(login.status).toBe(302);
    const after = login.setCookies.get('csrftoken')?.value;
    expect(after).toMatch(/^[A-Za-z0-9]{32,64}$/);
    expect(after).not.toBe(before);
    // Exactly one csrftoken in the login reply: the client reads that very response's.
    expect(login.headers.getSetCookie().filter((c) => c.startsWith('csrftoken=')).length).toBe(1);
    const stale = await web.post('/logout/', { csrfmiddlewaretoken: before });
    expect(stale.status).toBe(403);
    expect(await signedIn(web)).toBe(true);
  });

  it('refuses a cookie/token pair another site planted, once signed in', async () => {
    const web = new WebSession(site.url);
    await web.login('bob', 'bob-password', 'none', fromAddress());
    const planted = 'P'.repeat(40);
    web.cookies.set('csrftoken', planted);
    const reply = await web.post('/logout/', { csrfmiddlewaretoken: planted });
    expect(reply.status).toBe(403);
    expect(reply.text).toContain('CSRF verification failed');
    expect(await signedIn(web)).toBe(true);
    // The same for a multipart upload and the header.
    const del = await web.request('/upload/delete/x.fits', { method: 'DELETE', headers: { 'X-CSRFToken': planted, cookie: `csrftoken=${planted}` } });
    expect(del.status).toBe(403);
  });

  it('logs out with a POST from our pages; a browser GET only shows the form; the client GET still logs out', async () => {
    const web = new WebSession(site.url);
    await web.login('alice', 'alice-password', 'acs', fromAddress());
    const home = await web.get('/');
    expect(home.text).toMatch(/<form method="post" action="\/logout\/"[^>]*><input type="hidden" name="csrfmiddlewaretoken" value="[A-Za-z0-9]+"><button type="submit" id="nav-logout">/);
    const browsers: Record<string, string>[] = [{ 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' }, { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'navigate' }, { referer: 'https://evil.example/page' }];
    for (const headers of browsers) {
      const page = await web.get('/logout/', headers);
      expect(page.status).toBe(200);
      expect(page.text).toContain('id="logout-form"');
      expect(await signedIn(web)).toBe(true);
    }
    expect(await site.db.models.InstrumentLock.count()).toBe(1);
    // As `crds submit --logout` sends it: referer = the server URL, no Sec-Fetch-*.
    const client = await web.get('/logout/', { referer: site.url, 'user-agent': 'python-requests/2.32.3' });
    expect(client.status).toBe(302);
    expect(await signedIn(web)).toBe(false);
    expect(await site.db.models.InstrumentLock.count()).toBe(0);
  });
});

describe('login throttling (item 8)', () => {
  it('answers 429 with Retry-After past the failures allowed per account, even to the right password, and not to other accounts', async () => {
    const web = new WebSession(site.url);
    await web.get('/login/');
    for (let i = 0; i < 3; i++) {
      const reply = await web.post('/login/', { username: 'alice', password: 'wrong-password', instrument: 'none' }, fromAddress());
      expect(reply.status).toBe(200);
      expect(errorDiv(reply.text)).toBe('ERROR: Invalid user name or password.');
    }
    for (const password of ['wrong-password', 'alice-password']) {
      const reply = await web.post('/login/', { username: 'ALICE', password, instrument: 'none' }, fromAddress());
      expect(reply.status).toBe(429);
      expect(Number(reply.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(errorDiv(reply.text)).toMatch(/^ERROR: Too many failed logins for this account: try again in \d+ minute\(s\)\.$/);
    }
    expect((await web.post('/login/', { username: 'bob', password: 'bob-password', instrument: 'none' }, fromAddress())).status).toBe(302);
  });

  it('counts failures once for the whole site: a second web process on the same database refuses as the first', async () => {
    const [port] = await freePorts(1);
    const temporal = new TemporalLink('127.0.0.1:1', 'default');
    const second: Server = createWebServer({ config: site.config, db: site.db, temporal, submissions: null }).listen(port, '127.0.0.1');
    try {
      await new Promise((r) => second.once('listening', r));
      const webs = [new WebSession(site.url), new WebSession(`http://127.0.0.1:${port}`)];
      for (const web of webs) await web.get('/login/');
      // Three failures for dave, alternating between the processes, each from another address.
      for (let i = 0; i < 3; i++) expect((await webs[i % 2]!.post('/login/', { username: 'dave', password: 'wrong', instrument: 'none' }, fromAddress())).status).toBe(200);
      for (const web of webs) expect((await web.post('/login/', { username: 'dave', password: 'dave-password', instrument: 'none' }, fromAddress())).status).toBe(429);
    } finally {
      second.closeAllConnections();
      await new Promise((r) => second.close(r));
      await temporal.close();
    }
  });

  it('answers 429 past the failures allowed per client address, whatever the account', async () => {
    const web = new WebSession(site.url);
    await web.get('/login/');
    const headers = fromAddress();
    for (let i = 0; i < 5; i++) {
      expect((await web.post('/login/', { username: `nobody${i}`, password: 'wrong-password', instrument: 'none' }, headers)).status).toBe(200);
    }
    const reply = await web.post('/login/', { username: 'root', password: 'root-password', instrument: 'none' }, headers);
    expect(reply.status).toBe(429);
    expect(errorDiv(reply.text)).toMatch(/from your address/);
    // Another address is not affected.
    expect((await web.post('/login/', { username: 'root', password: 'root-password', instrument: 'none' }, fromAddress())).status).toBe(302);
  });

  it('hashes at most CRDS_PASSWORD_HASHING (2) passwords at once under a flood of logins, and refuses absurd passwords unhashed', async () => {
    passwordHashing.maxActive = 0;
    // Unknown names (hashed all the same, against a dummy hash) from addresses of their own: no limit is reached.
    const logins = Array.from({ length: 12 }, async (_, i) => {
      const web = new WebSession(site.url);
      await web.get('/login/');
      const reply = await web.post('/login/', { username: `flood${i}`, password: 'wrong-password', instrument: 'none' }, fromAddress());
      return errorDiv(reply.text);
    });
    expect(await Promise.all(logins)).toEqual(Array(12).fill('ERROR: Invalid user name or password.'));
    expect(passwordHashing.maxActive).toBe(2);
    passwordHashing.maxActive = 0;
    const web = new WebSession(site.url);
    await web.get('/login/');
    const huge = await web.post('/login/', { username: 'bob', password: 'x'.repeat(200_000), instrument: 'none' }, fromAddress());
    expect(errorDiv(huge.text)).toBe('ERROR: Invalid user name or password.');
    expect(passwordHashing.maxActive).toBe(0);
  });
});

describe('security headers, /health, state files (item 10)', () => {
  it('sends a content security policy of our own scripts and styles only, no framing, nosniff and a referrer policy; no HSTS over http', async () => {
    for (const page of ['/', '/login/', '/lock_status/', '/no/such/page']) {
      const reply = await new WebSession(site.url).get(page);
      const csp = reply.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('upgrade-insecure-requests');
      expect(reply.headers.get('x-content-type-options')).toBe('nosniff');
      expect(reply.headers.get('x-frame-options')).toBe('DENY');
      expect(reply.headers.get('referrer-policy')).toBe('same-origin');
      expect(reply.headers.get('strict-transport-security')).toBeNull();
    }
  });

  it('sends HSTS when the site URL is https', async () => {
    const [port] = await freePorts(1);
    const temporal = new TemporalLink('127.0.0.1:1', 'default');
    const server: Server = createWebServer({ config: { ...site.config, siteUrl: 'https://crds.example.org' }, db: site.db, temporal, submissions: null }).listen(port, '127.0.0.1');
    try {
      await new Promise((r) => server.once('listening', r));
      const reply = await fetch(`http://127.0.0.1:${port}/login/`);
      expect(reply.headers.get('strict-transport-security')).toMatch(/^max-age=31536000/);
      expect(reply.headers.get('content-security-policy')).toContain('upgrade-insecure-requests');
      expect(reply.headers.get('set-cookie')).toMatch(/Secure/);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await temporal.close();
    }
  });

  it('has no inline script, style or event handler in any view (the policy would block them)', () => {
    const views = path.join(REPO_ROOT, 'web', 'views');
    const files = fs.readdirSync(views, { recursive: true }).map(String).filter((f) => f.endsWith('.ejs'));
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      const text = fs.readFileSync(path.join(views, f), 'utf8');
      // Scripts come from our files; JSON data blocks (type="application/json") are never run.
      expect([f, text.match(/<script(?![^>]*\b(?:src=|type="application\/json"))[^>]*>/g)]).toEqual([f, null]);
      expect([f, text.match(/<style\b|\sstyle=|\son[a-z]+=/gi)]).toEqual([f, null]);
    }
  });

  it('shows anonymous callers of /health and the home page the status only; superusers the details', async () => {
    const anonymous = await new WebSession(site.url).get('/health');
    const body = anonymous.json<Record<string, unknown>>();
    expect(Object.keys(body).sort()).toEqual(['database', 'observatory', 'status', 'temporal', 'time']);
    expect(body.database).toEqual({ ok: true });
    expect(Object.keys(body.temporal as object)).toEqual(['ok']);
    expect(anonymous.text).not.toMatch(/mysql|127\.0\.0\.1|namespace/);
    expect((await new WebSession(site.url).get('/')).text).not.toContain(':***@');
    const root = new WebSession(site.url);
    await root.login('root', 'root-password', 'none', fromAddress());
    const detailed = (await root.get('/health')).json<{ database: { url: string; dialect: string } }>();
    expect(detailed.database).toMatchObject({ ok: true, dialect: 'mysql', url: expect.stringContaining(':***@') });
    expect((await root.get('/')).text).toContain(':***@');
  });

  it('creates the SQLite catalog (password hashes, sessions) readable by its owner only, and tightens an existing one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-mode-'));
    try {
      const fresh = path.join(dir, 'fresh.sqlite');
      const db = await openDatabase(`sqlite:${fresh}`);
      await createUser(db, { username: 'x', password: 'x-password' });
      await db.close();
      for (const f of fs.readdirSync(dir)) expect([f, fs.statSync(path.join(dir, f)).mode & 0o777]).toEqual([f, 0o600]);
      const old = path.join(dir, 'old.sqlite');
      fs.writeFileSync(old, '', { mode: 0o644 });
      fs.chmodSync(old, 0o644);
      await (await openDatabase(`sqlite:${old}`)).close();
      expect(fs.statSync(old).mode & 0o777).toBe(0o600);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
