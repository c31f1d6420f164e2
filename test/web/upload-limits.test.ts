// Issue 13 item 12 over HTTP against the real app on real MariaDB: an upload with more files
// than the limit keeps none of them (413); per-user quotas on uploads and on what a submission
// takes from the ingest folder; and the clean-up of abandoned partial uploads and temporaries
// (the activity the `clean-abandoned-uploads` schedule runs).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createUser, setGroup } from '../../db/accounts';
import { createCleanupActivities } from '../../activities/cleanup';
import { SCHEDULES } from '../../workers/schedules';
import { MAX_FILES_PER_UPLOAD } from '../../web/uploads';
import { DEMO_CACHE, startSite, type Site } from '../jsonrpc/site';
import { errorDiv, multipart, WebSession } from './web-session';

const QUOTA_BYTES = 3_000_000;
let site: Site;
let ingest: string;
let partials: string;
const started: unknown[] = [];

beforeAll(async () => {
  site = await startSite({
    observatory: 'hst',
    source: DEMO_CACHE,
    env: { CRDS_USER_QUOTA_BYTES: String(QUOTA_BYTES), CRDS_USER_QUOTA_FILES: String(MAX_FILES_PER_UPLOAD), CRDS_UPLOAD_MAX_AGE_HOURS: '1' },
    app: { startSubmission: async (r) => (started.push(r), { resultsId: 'r1', location: '/display_result/r1' }) },
  });
  await createUser(site.db, { username: 'alice', password: 'alice-password' });
  await setGroup(site.db, 'acs-team', ['acs'], ['alice']);
  ingest = path.join(site.config.serverFiles, 'ingest', 'alice');
  partials = path.join(site.config.serverFiles, 'uploads', 'alice');
});
afterAll(async () => {
  await site.close();
});
beforeEach(() => {
  fs.rmSync(site.config.serverFiles, { recursive: true, force: true });
});

async function loggedIn(instrument = 'none'): Promise<WebSession> {
  const web = new WebSession(site.url);
  expect((await web.login('alice', 'alice-password', instrument)).status).toBe(302);
  return web;
}

function post(web: WebSession, files: { name: string; data: Buffer }[], headers: Record<string, string> = {}) {
  const { body, contentType } = multipart([
    { name: 'csrfmiddlewaretoken', data: web.cookies.get('csrftoken')! },
    ...files.map((f) => ({ name: 'files', filename: f.name, data: f.data })),
  ]);
  return web.request('/upload/chunked/', { method: 'POST', body, headers: { 'content-type': contentType, ...headers } });
}
const listed = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);

it(`refuses a request with more than ${MAX_FILES_PER_UPLOAD} files with 413, keeping none of them`, async () => {
  const web = await loggedIn();
  const files = Array.from({ length: MAX_FILES_PER_UPLOAD + 1 }, (_, i) => ({ name: `f${String(i).padStart(3, '0')}_drk.fits`, data: Buffer.from(`file ${i}`) }));
  const reply = await post(web, files);
  expect(reply.status).toBe(413);
  expect(reply.json<{ error: string }>().error).toBe(`More than ${MAX_FILES_PER_UPLOAD} files in one upload: none was kept; send at most ${MAX_FILES_PER_UPLOAD} per request.`);
  expect(listed(ingest)).toEqual([]);
  expect(listed(partials)).toEqual([]);
  // Exactly the limit is fine.
  const ok = await post(web, files.slice(0, MAX_FILES_PER_UPLOAD));
  expect(ok.status).toBe(200);
  expect(listed(ingest)).toHaveLength(MAX_FILES_PER_UPLOAD);
});

it('holds each user to the byte quota, whole files and chunks alike, leaving nothing behind', async () => {
  const web = await loggedIn();
  expect((await post(web, [{ name: 'a_drk.fits', data: Buffer.alloc(2_000_000, 1) }])).status).toBe(200);
  const over = await post(web, [{ name: 'b_drk.fits', data: Buffer.alloc(1_500_000, 2) }]);
  expect(over.status).toBe(413);
  expect(over.json<{ error: string }>().error).toBe(`'b_drk.fits' would exceed your upload quota (${QUOTA_BYTES} bytes): submit or delete files first.`);
  const chunk = await post(web, [{ name: 'c_drk.fits', data: Buffer.alloc(1000, 3) }], { 'content-range': 'bytes 0-999/1500000' });
  expect(chunk.status).toBe(413);
  expect(listed(ingest)).toEqual(['a_drk.fits']);
  expect(listed(partials)).toEqual([]);
  // Within the quota, still fine.
  expect((await post(web, [{ name: 'd_drk.fits', data: Buffer.alloc(900_000, 4) }])).status).toBe(200);
});

it('holds the file quota, and refuses to submit an ingest folder filled past the quota behind the uploads’ back', async () => {
  fs.mkdirSync(ingest, { recursive: true });
  for (let i = 0; i < MAX_FILES_PER_UPLOAD; i++) fs.writeFileSync(path.join(ingest, `x${i}_drk.fits`), 'x');
  const web = await loggedIn('acs');
  const reply = await post(web, [{ name: 'one_more_drk.fits', data: Buffer.from('y') }]);
  expect(reply.status).toBe(413);
  expect(reply.json<{ error: string }>().error).toContain(`(${MAX_FILES_PER_UPLOAD} files)`);
  fs.writeFileSync(path.join(ingest, 'bypass_drk.fits'), 'z');
  await web.get('/batch_submit_references/');
  const submit = await web.post('/batch_submit_references/', { description: 'too many', pmap_mode: 'pmap_edit', change_level: 'SEVERE', creator: 'alice' });
  expect(submit.status).toBe(413);
  expect(errorDiv(submit.text)).toMatch(/^ERROR: Your ingest folder holds 101 files \(101 bytes\), more than your quota/);
  expect(started).toEqual([]);
});

it('removes partial uploads and temporaries untouched for CRDS_UPLOAD_MAX_AGE_HOURS, and expired sessions, reporting them once (a schedule)', async () => {
  expect(SCHEDULES.map((s) => s.scheduleId)).toContain('clean-abandoned-uploads');
  const old = new Date(Date.now() - 2 * 3600_000);
  const files = {
    oldPart: path.join(partials, 'big_drk.fits.part'),
    oldTemp: path.join(partials, 'small_drk.fits.0a1b2c3d4e5f.tmp'),
    freshPart: path.join(partials, 'active_drk.fits.part'),
    oldSubmissionTemp: path.join(site.config.serverFiles, 'submissions', 'sub-9', 'a_drk.fits.deadbeef.tmp'),
    oldSubmitted: path.join(site.config.serverFiles, 'submissions', 'sub-9', 'a_drk.fits'),
    oldIngested: path.join(ingest, 'kept_drk.fits'),
  };
  for (const [key, file] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'data');
    if (key !== 'freshPart') fs.utimesSync(file, old, old);
  }
  const web = await loggedIn();
  await site.db.sequelize.query('UPDATE web_sessions SET last_seen_at = ?', { replacements: [new Date(Date.now() - 5 * 3600_000)] });
  const { cleanAbandonedUploads } = createCleanupActivities({ db: site.db, config: site.config });
  const report = await cleanAbandonedUploads();
  expect(report.removed.map((f) => f.path).sort()).toEqual([files.oldPart, files.oldSubmissionTemp, files.oldTemp].sort());
  expect(report.bytes).toBe(12);
  expect(report.sessions).toBeGreaterThanOrEqual(1);
  for (const f of [files.freshPart, files.oldSubmitted, files.oldIngested]) expect(fs.existsSync(f)).toBe(true);
  expect((await web.get('/upload/list/')).status).toBe(403);
  const audit = await site.db.models.AuditRecord.findAll({ where: { action: 'clean abandoned uploads' } });
  expect(audit).toHaveLength(1);
  const again = await cleanAbandonedUploads();
  expect(again.removed).toEqual([]);
  expect(await site.db.models.AuditRecord.count({ where: { action: 'clean abandoned uploads' } })).toBe(1);
});
