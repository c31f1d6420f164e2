// Races over HTTP against the real web app, worker process, MariaDB and Temporal: two
// submitters log in for one instrument at the same instant (one takes the lock, the other
// is told who holds it), and a double-clicked confirm (two POSTs at once: one confirms, the
// other is refused in the error div, and the submission is delivered once).
import { findLock } from '../../db/locks';
import { errorDiv, WebSession } from '../web/web-session';
import { expectDeliveredOnce, placeVariant } from './exactly-once';
import { startWebSubmissionSite, waitForProgress, type SubmissionSite, type WebSubmissionSite } from './harness';

jest.setTimeout(300_000);

let site: SubmissionSite;
let running: WebSubmissionSite | undefined;
let url: string;

beforeAll(async () => {
  running = await startWebSubmissionSite('races', 'races-test-secret', { members: ['alice', 'bob'] });
  ({ site, web: { url } } = running);
});

afterAll(async () => {
  await running?.close();
});

it('two submitters logging in for one instrument at once: one takes the lock, the other is told it is locked', async () => {
  const winners: string[] = [];
  for (let round = 0; round < 4; round++) {
    const alice = new WebSession(url);
    const bob = new WebSession(url);
    await Promise.all([alice.get('/login/'), bob.get('/login/')]);
    // Both forms posted at the same instant.
    const [a, b] = await Promise.all([
      alice.post('/login/', { username: 'alice', password: 'alice-password', instrument: 'cos', next: '/' }),
      bob.post('/login/', { username: 'bob', password: 'bob-password', instrument: 'cos', next: '/' }),
    ]);
    const replies = { alice: a, bob: b };
    const won = Object.entries(replies).filter(([, r]) => r.status === 302).map(([u]) => u);
    expect({ round, won: won.length }).toEqual({ round, won: 1 });
    const winner = won[0]!;
    const loser = winner === 'alice' ? 'bob' : 'alice';
    expect(replies[loser as 'alice' | 'bob'].status).toBe(200);
    expect(errorDiv(replies[loser as 'alice' | 'bob'].text)).toMatch(new RegExp(`^ERROR: User '(${winner}|another user)' has already locked instrument 'cos'\\.$`));
    // The lock is the winner's, and the loser has no session.
    expect((await findLock(site.db, winner))?.name).toBe('cos');
    expect(await findLock(site.db, loser)).toBeNull();
    expect((await new WebSession(url).get(`/lock_status/${winner}/`)).json()).toMatchObject({ status: 'ok', user: winner, name: 'cos', is_expired: false });
    const loserSession = loser === 'alice' ? alice : bob;
    expect(loserSession.cookies.size === 0 || (await loserSession.get('/batch_submit_references/')).status !== 200).toBe(true);
    winners.push(winner);
    const logout = await (winner === 'alice' ? alice : bob).get('/logout/');
    expect(logout.status).toBe(302);
    expect(await findLock(site.db, winner)).toBeNull();
  }
});

it('a double-clicked confirm: one POST confirms, the other is refused, and the files are delivered once', async () => {
  placeVariant(site, 'alice', '4');
  const web = new WebSession(url);
  expect((await web.login('alice', 'alice-password', 'cos')).status).toBe(302);
  const submitted = await web.post('/batch_submit_references/', {
    pmap_mode: 'pmap_edit',
    pmap_name: '',
    change_level: 'SEVERE',
    auto_rename: 'True',
    compare_old_reference: 'True',
    description: 'COS 1dx double confirm',
    creator: 'Alice Test',
  });
  expect({ status: submitted.status, error: errorDiv(submitted.text) }).toMatchObject({ status: 302 });
  const resultsId = /\/display_result\/(.+)$/.exec(submitted.headers.get('location')!)![1]!;
  const ready = await waitForProgress(site, resultsId, (x) => x.status === 'ready' || x.status === 'failed', 180_000);
  expect(ready.status).toBe('ready');

  const [first, second] = await Promise.all([
    web.post('/submit_confirm/', { results_id: resultsId, button: 'confirm' }),
    web.post('/submit_confirm/', { results_id: resultsId, button: 'confirm' }),
  ]);
  const statuses = [first.status, second.status].sort();
  expect(statuses).toEqual([200, 302]);
  const refused = first.status === 200 ? first : second;
  expect(errorDiv(refused.text)).toMatch(/already confirmed/);

  const delivered = await waitForProgress(site, resultsId, (x) => !!x.delivery, 150_000);
  expect(delivered.messages.filter((m) => m.data === "confirmed by 'alice'")).toHaveLength(1);
  await expectDeliveredOnce(site, resultsId, delivered, { deliveryId: 1, context: 'hst_0730.pmap' });
  const deadline = Date.now() + 60_000;
  const confirmedMails = () => site.mails.filter((m) => m.text.includes(resultsId) && m.subject.includes('CONFIRMED'));
  while (confirmedMails().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  expect(confirmedMails()).toHaveLength(1);
});
