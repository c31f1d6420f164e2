// Login, CSRF, instrument locks and the submission page's checks, over HTTP against the real
// app on real MariaDB with the demo HST rules (instruments acs and wfc3).
import { createUser, setGroup, setPassword } from '../../db/accounts';
import { startSite, DEMO_CACHE, type Site } from '../jsonrpc/site';
import type { SubmissionRequest } from '../../web/submission-types';
import { errorDiv, multipart, WebSession } from './web-session';

let site: Site;
const started: SubmissionRequest[] = [];

beforeAll(async () => {
  site = await startSite({
    observatory: 'hst',
    source: DEMO_CACHE,
    // The workflow's starter is another component (issue #6, point 3): this one records.
    app: {
      startSubmission: async (request) => {
        started.push(request);
        return { resultsId: request.jpollKey ?? 'r1', location: `/display_result/${request.jpollKey ?? 'r1'}` };
      },
    },
  });
  for (const [username, password] of [['alice', 'alice-password'], ['bob', 'bob-password'], ['carol', 'carol-password']]) {
    await createUser(site.db, { username: username!, password, email: `${username}@example.org` });
  }
  await setGroup(site.db, 'acs-team', ['acs', 'wfc3'], ['alice', 'bob']);
  await setGroup(site.db, 'cos-team', ['cos'], ['carol']);
});
afterAll(async () => {
  await site.close();
});
afterEach(async () => {
  await site.db.models.InstrumentLock.destroy({ where: {} });
});

const lockRow = (name: string) => site.db.models.InstrumentLock.findOne({ where: { type: 'instrument', name } });

describe('login and CSRF', () => {
  it('gives the login page a csrftoken cookie the client can send back over http, and no error div', async () => {
    const web = new WebSession(site.url);
    const page = await web.get('/login/');
    expect(page.status).toBe(200);
    const csrf = page.setCookies.get('csrftoken');
    expect(csrf?.value).toMatch(/^[A-Za-z0-9]{32,64}$/);
    expect(csrf?.attributes).toMatch(/Path=\//);
    expect(csrf?.attributes).not.toMatch(/Secure/);
    expect(errorDiv(page.text)).toBeUndefined();
    expect(page.text).toContain('<option value="acs"');
    expect(page.text).toContain('<option value="wfc3"');
    expect(page.text).toContain('<option value="none"');
    // The same token again on the next response, as long as the browser keeps it.
    expect((await web.get('/')).setCookies.get('csrftoken')?.value).toBe(csrf?.value);
  });

  it.each([
    ['no token', { csrfmiddlewaretoken: '' }, {}],
    ['a wrong token', { csrfmiddlewaretoken: 'x'.repeat(32) }, {}],
    ['a wrong header', {}, { 'X-CSRFToken': 'y'.repeat(32) }],
  ])('refuses a login POST with %s (403), taking no lock', async (_what, form, headers) => {
    const web = new WebSession(site.url);
    await web.get('/login/');
    const reply = await web.post('/login/', { username: 'alice', password: 'alice-password', instrument: 'acs', ...form }, headers);
    expect(reply.status).toBe(403);
    expect(reply.text).toContain('CSRF verification failed');
    expect(web.cookies.has('crds_session')).toBe(false);
    expect(await lockRow('acs')).toBeNull();
  });

  it('refuses a POST without the csrftoken cookie at all', async () => {
    const reply = await new WebSession(site.url).post('/login/', { username: 'alice', password: 'alice-password', csrfmiddlewaretoken: 'a'.repeat(32) });
    expect(reply.status).toBe(403);
    expect(reply.text).toContain('the CSRF cookie is not set');
  });

  it('refuses every other unsafe request without the token too (logout by POST, submission, multipart elsewhere)', async () => {
    const web = new WebSession(site.url);
    expect((await web.login('alice', 'alice-password', 'acs')).status).toBe(302);
    const noToken = await web.request('/batch_submit_references/', {
      method: 'POST',
      body: new URLSearchParams({ description: 'x' }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(noToken.status).toBe(403);
    const { body, contentType } = multipart([{ name: 'description', data: 'x' }]);
    const asMultipart = await web.request('/batch_submit_references/', { method: 'POST', body, headers: { 'content-type': contentType } });
    expect(asMultipart.status).toBe(403);
    expect(started).toHaveLength(0);
  });

  it('logs in for an instrument, taking its lock, and redirects to next (only ever a local path)', async () => {
    const web = new WebSession(site.url);
    await web.get('/login/');
    const reply = await web.post('/login/', { username: 'alice', password: 'alice-password', instrument: 'ACS', next: '/lock_status/' });
    expect(reply.status).toBe(302);
    expect(reply.headers.get('location')).toBe('/lock_status/');
    expect(reply.setCookies.get('crds_session')?.attributes).toMatch(/HttpOnly/);
    const lock = await lockRow('acs');
    expect(lock?.username).toBe('alice');
    expect(lock!.expiresAt.getTime() - Date.now()).toBeGreaterThan(4 * 3600_000 - 60_000);
    const home = await web.get('/');
    expect(errorDiv(home.text)).toBeUndefined();
    expect(home.text).toMatch(/id="nav-user">alice \(acs\)</);
    for (const next of ['//evil.example/', 'https://evil.example/', '/\\evil.example']) {
      const other = new WebSession(site.url);
      await other.get('/login/');
      const r = await other.post('/login/', { username: 'bob', password: 'bob-password', instrument: 'none', next });
      expect(r.headers.get('location')).toBe('/');
    }
  });

  it('takes the MAST token from the ASB-AUTH cookie when the password field is empty', async () => {
    const web = new WebSession(site.url);
    web.cookies.set('ASB-AUTH', 'bob-password');
    await web.get('/login/');
    const reply = await web.post('/login/', { username: 'bob', password: '', instrument: 'wfc3' });
    expect(reply.status).toBe(302);
    expect((await lockRow('wfc3'))?.username).toBe('bob');
  });

  it.each([
    ['a wrong password', { username: 'alice', password: 'wrong-password', instrument: 'acs' }, 'ERROR: Invalid user name or password.'],
    ['an unknown user', { username: 'mallory', password: 'whatever-pass', instrument: 'acs' }, 'ERROR: Invalid user name or password.'],
    ['an unknown instrument', { username: 'alice', password: 'alice-password', instrument: 'nircam' }, "ERROR: Unknown instrument 'nircam': choose one of acs, wfc3, none."],
    ['an instrument outside her groups', { username: 'carol', password: 'carol-password', instrument: 'acs' }, "ERROR: User 'carol' may not submit files for instrument 'acs'."],
    ['no password', { username: 'alice', password: '', instrument: 'acs' }, 'ERROR: Enter a user name and a password.'],
  ])('refuses %s with the error div the client prints, and no session', async (_what, form, message) => {
    const web = new WebSession(site.url);
    await web.get('/login/');
    const reply = await web.post('/login/', form);
    expect(reply.status).toBe(200);
    expect(errorDiv(reply.text)).toBe(message);
    expect(web.cookies.has('crds_session')).toBe(false);
    expect(await site.db.models.InstrumentLock.count()).toBe(0);
  });

  it('ends every session of a user whose password changes', async () => {
    const web = new WebSession(site.url);
    await web.login('bob', 'bob-password', 'none');
    expect((await web.get('/upload/list/')).status).toBe(200);
    await setPassword(site.db, 'bob', 'bob-password-2');
    expect((await web.get('/upload/list/')).status).toBe(403);
    await setPassword(site.db, 'bob', 'bob-password');
  });

  it('does not accept a forged or tampered session cookie', async () => {
    const web = new WebSession(site.url);
    await web.login('alice', 'alice-password', 'none');
    const key = web.cookies.get('crds_session')!;
    const tampered = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    web.cookies.set('crds_session', tampered);
    expect((await web.get('/upload/list/')).status).toBe(403);
  });
});

describe('instrument locks', () => {
  it('lets one of two submitters racing for a lock win; the other gets the original message', async () => {
    for (let round = 0; round < 5; round++) {
      const [a, b] = [new WebSession(site.url), new WebSession(site.url)];
      await Promise.all([a.get('/login/'), b.get('/login/')]);
      const replies = await Promise.all([
        a.post('/login/', { username: 'alice', password: 'alice-password', instrument: 'acs' }),
        b.post('/login/', { username: 'bob', password: 'bob-password', instrument: 'acs' }),
      ]);
      const winners = replies.filter((r) => r.status === 302);
      expect(winners).toHaveLength(1);
      const holder = (await lockRow('acs'))!.username;
      const loser = replies.find((r) => r.status === 200)!;
      expect(errorDiv(loser.text)).toBe(`ERROR: User '${holder}' has already locked instrument 'acs'.`);
      expect(await site.db.models.InstrumentLock.count()).toBe(1);
      await (replies[0]!.status === 302 ? a : b).get('/logout/');
      expect(await lockRow('acs')).toBeNull();
    }
  });

  it('answers /lock_status/<user>/ in the shapes the client reads: held, expired, none', async () => {
    const anonymous = new WebSession(site.url);
    const none = await anonymous.get('/lock_status/alice/');
    expect(none.status).toBe(200);
    expect(none.json()).toEqual({ name: '', user: 'alice', type: 'instrument', status: 'error', exception: 'no lock found.' });

    const web = new WebSession(site.url);
    await web.login('alice', 'alice-password', 'wfc3');
    const held = (await anonymous.get('/lock_status/alice/')).json<Record<string, unknown>>();
    expect(held).toEqual({
      name: 'wfc3',
      user: 'alice',
      type: 'instrument',
      status: 'ok',
      created_on: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
      is_expired: false,
      time_remaining: expect.stringMatching(/^[34]:[0-5]\d:[0-5]\d$/),
    });
    await site.db.models.InstrumentLock.update({ expiresAt: new Date(Date.now() - 1000) }, { where: { username: 'alice' } });
    expect((await anonymous.get('/lock_status/alice/')).json()).toMatchObject({ name: 'wfc3', status: 'error', is_expired: true, time_remaining: '0:00:00', exception: 'lock expired.' });
    // Any user name, even one the original's URL pattern refused.
    expect((await anonymous.get('/lock_status/j.doe@stsci/')).json()).toMatchObject({ name: '', user: 'j.doe@stsci' });
  });

  it('renews the holder’s lease on each interactive request, but never revives an expired lock', async () => {
    const web = new WebSession(site.url);
    await web.login('alice', 'alice-password', 'acs');
    await site.db.models.InstrumentLock.update({ expiresAt: new Date(Date.now() + 60_000) }, { where: { username: 'alice' } });
    await web.get('/lock_status/');
    expect((await lockRow('acs'))!.expiresAt.getTime() - Date.now()).toBeGreaterThan(4 * 3600_000 - 60_000);
    await site.db.models.InstrumentLock.update({ expiresAt: new Date(Date.now() - 1000) }, { where: { username: 'alice' } });
    await web.get('/lock_status/');
    expect((await lockRow('acs'))!.expiresAt.getTime()).toBeLessThan(Date.now());
  });

  it('lets an expired lock be taken by another user, and keeps a held one', async () => {
    const alice = new WebSession(site.url);
    await alice.login('alice', 'alice-password', 'acs');
    const bob = new WebSession(site.url);
    expect(errorDiv((await bob.login('bob', 'bob-password', 'acs')).text)).toBe("ERROR: User 'alice' has already locked instrument 'acs'.");
    await site.db.models.InstrumentLock.update({ expiresAt: new Date(Date.now() - 1000) }, { where: { username: 'alice' } });
    expect((await bob.login('bob', 'bob-password', 'acs')).status).toBe(302);
    expect((await lockRow('acs'))!.username).toBe('bob');
    expect((await new WebSession(site.url).get('/lock_status/alice/')).json()).toMatchObject({ name: '' });
  });

  it('moves a user’s lock when they log in for another instrument, and releases it at logout', async () => {
    const web = new WebSession(site.url);
    await web.login('alice', 'alice-password', 'acs');
    await web.login('alice', 'alice-password', 'wfc3');
    expect((await site.db.models.InstrumentLock.findAll()).map((l) => l.name)).toEqual(['wfc3']);
    const page = await web.get('/lock_status/');
    expect(page.text).toMatch(/<td>wfc3<\/td>\s*<td><a href="\/lock_status\/alice\/">alice<\/a>/);
    const out = await web.get('/logout/');
    expect(out.status).toBe(302);
    expect(web.cookies.has('crds_session')).toBe(false);
    expect(await site.db.models.InstrumentLock.count()).toBe(0);
    expect((await web.get('/')).text).toContain('id="nav-login"');
  });

  it('does not log out (nor release the lock) on a GET from another site: it only shows the logout form', async () => {
    const web = new WebSession(site.url);
    await web.login('alice', 'alice-password', 'acs');
    const page = await web.get('/logout/', { 'Sec-Fetch-Site': 'cross-site' });
    expect(page.status).toBe(200);
    expect(page.text).toContain('id="logout-form"');
    expect(await lockRow('acs')).not.toBeNull();
  });
});

describe('the submission page', () => {
  beforeEach(() => {
    started.length = 0;
  });

  it('sends a browser without a session to the login page', async () => {
    const reply = await new WebSession(site.url).get('/batch_submit_references/');
    expect(reply.status).toBe(302);
    expect(reply.headers.get('location')).toBe('/login/?next=%2Fbatch_submit_references%2F');
  });

  it('shows the error div the client stops on when the user holds no lock', async () => {
    const web = new WebSession(site.url);
    await web.login('alice', 'alice-password', 'none');
    const page = await web.get('/batch_submit_references/');
    expect(page.status).toBe(200);
    expect(page.setCookies.has('csrftoken')).toBe(true);
    expect(errorDiv(page.text)).toBe("ERROR: You can't access this function without logging in for a particular instrument.");
  });

  it('checks the form, then hands the starter the request bound to the session’s jpoll channel', async () => {
    const web = new WebSession(site.url);
    await web.login('alice', 'alice-password', 'acs');
    const page = await web.get('/batch_submit_references/');
    expect(errorDiv(page.text)).toBeUndefined();
    const key = (await web.get('/jpoll/open_channel')).json<string>();
    expect(key).toMatch(/^[a-zA-Z0-9:.\-]{1,128}$/);
    const form = {
      pmap_mode: 'pmap_edit', pmap_name: 'hst_0002.pmap', instrument: 'acs', change_level: 'SEVERE', creator: 'Alice Test',
      description: 'ACS darks, take 1', auto_rename: 'True', compare_old_reference: 'False',
    };
    expect(errorDiv((await web.post('/batch_submit_references/', form)).text)).toBe('ERROR: No input files were specified.');
    const { body, contentType } = multipart([{ name: 'csrfmiddlewaretoken', data: web.cookies.get('csrftoken')! }, { name: 'files', filename: 'd1a1001aj_drk.fits', data: 'SIMPLE' }]);
    expect((await web.request('/upload/chunked/', { method: 'POST', body, headers: { 'content-type': contentType } })).status).toBe(200);
    for (const [field, value, message] of [
      ['description', "it's bad", 'ERROR: Invalid description'],
      ['creator', 'Alice <script>', 'ERROR: Invalid creator'],
      ['change_level', 'HUGE', "ERROR: Invalid change_level 'HUGE'"],
      ['pmap_mode', 'pmap_menu', "ERROR: Invalid pmap_mode 'pmap_menu'"],
    ] as const) {
      const reply = await web.post('/batch_submit_references/', { ...form, [field]: value });
      expect(reply.status).toBe(200);
      expect(errorDiv(reply.text)).toContain(message);
    }
    expect(started).toHaveLength(0);
    const reply = await web.post('/batch_submit_references/', form);
    expect(reply.status).toBe(302);
    expect(reply.headers.get('location')).toBe(`/display_result/${key}`);
    expect(started).toHaveLength(1);
    const lock = (await lockRow('acs'))!;
    expect(started[0]).toEqual({
      kind: 'batch_submit_references',
      observatory: 'hst',
      submitter: { username: 'alice', email: 'alice@example.org', isSuperuser: false },
      lock: { instrument: 'acs', lockId: `instrument - acs - alice - ${lock.createdOn.toISOString()}`, createdOn: lock.createdOn },
      ingestDir: expect.stringMatching(/server_files\/ingest\/alice$/),
      files: [{ name: 'd1a1001aj_drk.fits', size: 6 }],
      pmapMode: 'pmap_edit',
      pmapName: 'hst_0002.pmap',
      changeLevel: 'SEVERE',
      creator: 'Alice Test',
      description: 'ACS darks, take 1',
      autoRename: true,
      compareOldReference: false,
      jpollKey: key,
    });
  });

  it('answers 503 with an error div when no submission workflow is wired in', async () => {
    const bare = await startSite({ observatory: 'hst', source: DEMO_CACHE, app: { submissions: null } });
    try {
      await createUser(bare.db, { username: 'alice', password: 'alice-password' });
      await setGroup(bare.db, 'acs-team', ['acs'], ['alice']);
      const web = new WebSession(bare.url);
      await web.login('alice', 'alice-password', 'acs');
      const reply = await web.post('/batch_submit_references/', { description: 'x' });
      expect(reply.status).toBe(503);
      expect(errorDiv(reply.text)).toBe('ERROR: The submission workflow is not available on this server yet.');
    } finally {
      await bare.close();
    }
  });
});
