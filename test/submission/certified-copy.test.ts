// Issue 13 item 11: the bytes certify passes are the bytes delivered. Ingest (the real
// activity, on a real SQLite catalog) makes a private read-only copy: an in-place write to the
// user's ingest file afterwards changes nothing the submission holds, and a symbolic link
// planted in the ingest folder is not followed.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../config';
import { openDatabase, type Database } from '../../db';
import { createSubmissionActivities, type SubmissionActivities } from '../../activities/submission';
import { sameUpload } from '../../activities/certified-copy';
import { sha1, sha1File } from '../web/web-session';
import { REPO_ROOT } from '../support/paths';

let work: string;
let db: Database;
let activities: SubmissionActivities;
let ingest: string;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-certified-'));
  const config = loadConfig({
    CRDS_DATABASE_URL: `sqlite:${path.join(work, 'crds.sqlite')}`,
    CRDS_SERVER_FILES: path.join(work, 'server_files'),
    CRDS_FILE_CACHE: path.join(work, 'file_cache'),
  });
  db = await openDatabase(config.databaseUrl);
  activities = createSubmissionActivities({ db, config, specsRoot: path.join(REPO_ROOT, 'config', 'demo', 'specs') });
  ingest = path.join(config.serverFiles, 'ingest', 'alice');
  fs.mkdirSync(ingest, { recursive: true });
});
afterAll(async () => {
  await db.close();
  fs.rmSync(work, { recursive: true, force: true });
});

it('keeps the certified bytes when the ingest file is rewritten in place after ingest', async () => {
  const original = randomBytes(3 << 20);
  const uploaded = path.join(ingest, 'a_drk.fits');
  fs.writeFileSync(uploaded, original);
  const [file] = await activities.ingestSubmissionFiles({ submissionId: 'sub-1', observatory: 'hst', username: 'alice', names: ['a_drk.fits'] });
  expect(file).toEqual({ uploadedAs: 'a_drk.fits', size: original.length, sha1sum: sha1(original) });
  const copy = path.join(work, 'server_files', 'submissions', 'sub-1', 'a_drk.fits');
  expect(sameUpload(uploaded, copy)).toBe(true);

  // The submitter (or anyone who can write their ingest folder) changes the file in place.
  const fd = fs.openSync(uploaded, 'r+');
  fs.writeSync(fd, Buffer.from('SIMPLE  =                    T / tampered'), 0, undefined, 0);
  fs.closeSync(fd);
  expect(sha1File(uploaded)).not.toBe(file!.sha1sum);

  expect(sha1File(copy)).toBe(file!.sha1sum);
  expect(fs.statSync(copy).ino).not.toBe(fs.statSync(uploaded).ino);
  expect(fs.statSync(copy).mode & 0o777).toBe(0o444);
  // At delivery the changed ingest file is not taken for the submitted one (it is left alone).
  expect(sameUpload(uploaded, copy)).toBe(false);
  // A re-run of the activity (after a crash) finds its copy and the same sum.
  const again = await activities.ingestSubmissionFiles({ submissionId: 'sub-1', observatory: 'hst', username: 'alice', names: ['a_drk.fits'] });
  expect(again).toEqual([file]);
});

it('refuses a symbolic link planted in the ingest folder instead of copying what it points at', async () => {
  const secret = path.join(work, 'secret.txt');
  fs.writeFileSync(secret, 'not yours');
  fs.symlinkSync(secret, path.join(ingest, 'b_drk.fits'));
  await expect(activities.ingestSubmissionFiles({ submissionId: 'sub-2', observatory: 'hst', username: 'alice', names: ['b_drk.fits'] })).rejects.toThrow(
    "File 'b_drk.fits' is no longer in your ingest folder.",
  );
  expect(fs.existsSync(path.join(work, 'server_files', 'submissions', 'sub-2', 'b_drk.fits'))).toBe(false);
});
