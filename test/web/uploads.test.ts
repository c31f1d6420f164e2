// Uploads into the ingest folder over HTTP against the real app on real MariaDB: the real
// crds client's upload code (small files and 2,000,000-byte chunks), a dropped connection
// and its resume, hostile names, the size limit, a full disk, CSRF, list and delete.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createUser, setGroup } from '../../db/accounts';
import { CRDS_PYTHON } from '../support/paths';
import { DEMO_CACHE, run, startSite, type Site } from '../jsonrpc/site';
import { multipart, sha1, sha1File, WebSession } from './web-session';

const LIMIT = 5_000_000;
let site: Site;
let scratch: string;
let ingest: string;
let partials: string;

beforeAll(async () => {
  site = await startSite({ observatory: 'hst', source: DEMO_CACHE, env: { CRDS_MAX_UPLOAD_BYTES: String(LIMIT) } });
  await createUser(site.db, { username: 'alice', password: 'alice-password' });
  await createUser(site.db, { username: 'bob', password: 'bob-password' });
  await setGroup(site.db, 'acs-team', ['acs', 'wfc3'], ['alice', 'bob']);
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-uploads-'));
  ingest = path.join(site.config.serverFiles, 'ingest', 'alice');
  partials = path.join(site.config.serverFiles, 'uploads', 'alice');
});
afterAll(async () => {
  await site.close();
  fs.rmSync(scratch, { recursive: true, force: true });
});
beforeEach(() => {
  fs.rmSync(site.config.serverFiles, { recursive: true, force: true });
});

/** Every file under the site's work folder (server files, cache) and next to it, for "nothing escaped" checks. */
function everyFile(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(site.work, p));
    }
  };
  walk(site.work);
  return out.filter((p) => !p.startsWith('file_cache')).sort();
}

function scratchFile(name: string, size: number): string {
  const file = path.join(scratch, name);
  fs.writeFileSync(file, randomBytes(size));
  return file;
}

async function loggedIn(user = 'alice'): Promise<WebSession> {
  const web = new WebSession(site.url);
  expect((await web.login(user, `${user}-password`, 'none')).status).toBe(302);
  return web;
}

/** POSTs one multipart upload the way the client does: token first, then the file. */
async function upload(web: WebSession, filename: string, data: Buffer, headers: Record<string, string> = {}, token = web.cookies.get('csrftoken')!) {
  const { body, contentType } = multipart([{ name: 'csrfmiddlewaretoken', data: token }, { name: 'files', filename, data }]);
  return web.request('/upload/chunked/', { method: 'POST', body, headers: { 'content-type': contentType, ...headers } });
}

const chunkOf = (data: Buffer, start: number, size: number) => {
  const end = Math.min(start + size, data.length) - 1;
  return { bytes: data.subarray(start, end + 1), range: `bytes ${start}-${end}/${data.length}` };
};

describe('the real crds client', () => {
  it('logs in, uploads a small file and a chunked one, lists and deletes them, and logs out', async () => {
    const small = scratchFile('small_drk.fits', 1_999_999); // just under the client's chunk size: one POST
    const big = scratchFile('big_drk.fits', 4_628_160); // the doc's observed size: 3 chunks
    const env = { NO_PROXY: 'localhost,127.0.0.1', HOME: scratch, CRDS_PATH: path.join(scratch, 'cache') };
    const script = path.join(__dirname, 'client_upload.py');
    const first = await run(CRDS_PYTHON, [script, site.url, 'alice', 'alice-password', 'acs', small, big], env);
    expect(first.stderr).not.toMatch(/ERROR|Traceback/);
    expect(first.status).toBe(0);
    const listed = JSON.parse(first.stdout.trim().split('\n').at(-1)!) as { files: { name: string; size: number; deleteUrl: string }[] };
    expect(listed.files).toEqual([
      { name: 'big_drk.fits', size: 4_628_160, deleteUrl: '/upload/delete/big_drk.fits', deleteType: 'DELETE' },
      { name: 'small_drk.fits', size: 1_999_999, deleteUrl: '/upload/delete/small_drk.fits', deleteType: 'DELETE' },
    ]);
    expect(sha1File(path.join(ingest, 'big_drk.fits'))).toBe(sha1File(big));
    expect(sha1File(path.join(ingest, 'small_drk.fits'))).toBe(sha1File(small));
    expect(fs.readdirSync(partials)).toEqual([]);
    expect((await site.db.models.InstrumentLock.findOne({ where: { name: 'acs' } }))?.username).toBe('alice');
    // --wipe-existing-files: GET every deleteUrl; then --logout.
    const second = await run(CRDS_PYTHON, [script, site.url, 'alice', 'alice-password', 'acs', '--delete-all', '--logout'], env);
    expect(second.stderr).not.toMatch(/ERROR|Traceback/);
    expect(second.status).toBe(0);
    expect(fs.readdirSync(ingest)).toEqual([]);
    expect(await site.db.models.InstrumentLock.count()).toBe(0);
  });
});

describe('chunked uploads', () => {
  it('sets a fresh csrftoken cookie on every chunk reply and completes the file only with its last chunk', async () => {
    const web = await loggedIn();
    expect((await web.get('/upload/chunked/')).setCookies.has('csrftoken')).toBe(true);
    const data = randomBytes(4_500_000);
    for (let start = 0; start < data.length; start += 2_000_000) {
      const { bytes, range } = chunkOf(data, start, 2_000_000);
      const reply = await upload(web, 'chunked_drk.fits', bytes, { 'Content-Range': range });
      expect(reply.status).toBe(200);
      expect(reply.setCookies.get('csrftoken')?.value).toMatch(/^[A-Za-z0-9]{32,64}$/);
      const last = start + bytes.length === data.length;
      expect(reply.json()).toEqual({ files: [expect.objectContaining({ name: 'chunked_drk.fits', size: start + bytes.length, complete: last })] });
      // Until the end, nothing in the ingest folder that a submission could take.
      expect(fs.existsSync(path.join(ingest, 'chunked_drk.fits'))).toBe(last);
    }
    expect(sha1File(path.join(ingest, 'chunked_drk.fits'))).toBe(sha1(data));
  });

  it('survives a connection dropped in mid-chunk: the partial ends on the last whole chunk and the upload resumes', async () => {
    const web = await loggedIn();
    const data = randomBytes(4_200_000);
    const first = chunkOf(data, 0, 2_000_000);
    expect((await upload(web, 'resumed_drk.fits', first.bytes, { 'Content-Range': first.range })).status).toBe(200);

    // The second chunk: headers and half its body, then the connection goes away.
    const second = chunkOf(data, 2_000_000, 2_000_000);
    const { body, contentType } = multipart([{ name: 'csrfmiddlewaretoken', data: web.cookies.get('csrftoken')! }, { name: 'files', filename: 'resumed_drk.fits', data: second.bytes }]);
    const port = Number(new URL(site.url).port);
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write(
          `POST /upload/chunked/ HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${[...web.cookies].map(([k, v]) => `${k}=${v}`).join('; ')}\r\n` +
            `Content-Type: ${contentType}\r\nContent-Length: ${body.length}\r\nContent-Range: ${second.range}\r\n\r\n`,
        );
        socket.write(body.subarray(0, 1_000_000), () => setTimeout(() => (socket.destroy(), resolve()), 200));
      });
      socket.on('error', reject);
    });
    // The server cuts the partial back to the first chunk; the ingest folder has nothing.
    let state = { uploaded: -1, complete: true };
    for (let i = 0; i < 50 && state.uploaded !== 2_000_000; i++) {
      await new Promise((r) => setTimeout(r, 100));
      state = (await web.get('/upload/chunked/?file=resumed_drk.fits')).json();
    }
    expect(state).toEqual({ name: 'resumed_drk.fits', uploaded: 2_000_000, complete: false });
    expect(fs.existsSync(path.join(ingest, 'resumed_drk.fits'))).toBe(false);
    expect((await web.get('/upload/list/')).json()).toEqual({ files: [] });

    // A chunk that skips ahead is refused with where to resume.
    const ahead = chunkOf(data, 4_000_000, 2_000_000);
    const refused = await upload(web, 'resumed_drk.fits', ahead.bytes, { 'Content-Range': ahead.range });
    expect(refused.status).toBe(409);
    expect(refused.json<{ error: string }>().error).toBe("The upload of 'resumed_drk.fits' has 2000000 bytes: send the chunk that starts at byte 2000000.");
    // Resume from what the server has.
    for (let start = state.uploaded; start < data.length; start += 2_000_000) {
      const { bytes, range } = chunkOf(data, start, 2_000_000);
      expect((await upload(web, 'resumed_drk.fits', bytes, { 'Content-Range': range })).status).toBe(200);
    }
    expect(sha1File(path.join(ingest, 'resumed_drk.fits'))).toBe(sha1(data));
    expect(fs.readdirSync(partials)).toEqual([]);
  });

  it('starts over on a chunk at byte 0, and refuses a chunk whose body disagrees with its Content-Range', async () => {
    const web = await loggedIn();
    const data = randomBytes(3_000_000);
    await upload(web, 'again_drk.fits', data.subarray(0, 2_000_000), { 'Content-Range': 'bytes 0-1999999/3000000' });
    const short = await upload(web, 'again_drk.fits', data.subarray(2_000_000, 2_500_000), { 'Content-Range': 'bytes 2000000-2999999/3000000' });
    expect(short.status).toBe(400);
    expect(short.json<{ error: string }>().error).toBe("The chunk of 'again_drk.fits' held 500000 bytes, but Content-Range says 1000000.");
    const long = await upload(web, 'again_drk.fits', randomBytes(1_200_000), { 'Content-Range': 'bytes 2000000-2999999/3000000' });
    expect(long.status).toBe(400);
    expect((await web.get('/upload/chunked/?file=again_drk.fits')).json()).toMatchObject({ uploaded: 2_000_000 });
    await upload(web, 'again_drk.fits', data.subarray(0, 2_000_000), { 'Content-Range': 'bytes 0-1999999/3000000' });
    await upload(web, 'again_drk.fits', data.subarray(2_000_000), { 'Content-Range': 'bytes 2000000-2999999/3000000' });
    expect(sha1File(path.join(ingest, 'again_drk.fits'))).toBe(sha1(data));
    for (const bad of ['bytes 5-4/10', 'bytes 0-10/10', 'bytes=0-1/2', 'items 0-1/2']) {
      const reply = await upload(web, 'again_drk.fits', Buffer.from('xx'), { 'Content-Range': bad });
      expect(reply.status).toBe(400);
      expect(reply.json<{ error: string }>().error).toContain('is not valid');
    }
  });
});

describe('limits and refusals', () => {
  // [name as sent in the multipart header, what the refusal says]
  const HOSTILE: [string, string][] = [
    ['../escape.fits', 'path separator'],
    ['../../../../etc/passwd', 'path separator'],
    ['/etc/passwd', 'path separator'],
    ['/tmp/absolute.fits', 'path separator'],
    ['sub/dir.fits', 'path separator'],
    ['..\\windows.fits', 'path separator'],
    ['C:\\Windows\\win.ini', 'path separator'],
    // busboy itself refuses some control characters in a part's header.
    ['nul\u0000byte.fits', 'The upload was malformed: Malformed part header.'],
    ['tab\there.fits', 'control character (U+0009)'],
    ['esc\u001b[31mred.fits', 'The upload was malformed: Malformed part header.'],
    ['del\u007f.fits', 'The upload was malformed: Malformed part header.'],
    ['c1\u0085next.fits', 'control character (U+0085)'],
    ['.hidden.fits', 'starts with a dot'],
    ['..', 'starts with a dot'],
    ['.', 'starts with a dot'],
    [`${'x'.repeat(196)}.fits`, 'longer than 200 bytes'],
    ['caf\u00e9.fits', "contains 'é' (U+00E9)"],
    ['\u202egnp.fits', '(U+202E)'],
    ['full\uff0fwidth.fits', '(U+FF0F)'],
    ['zero\u200bwidth.fits', '(U+200B)'],
    ['\ufb01le.fits', '(U+FB01)'],
    ['space name.fits', "contains ' ' (U+0020)"],
    ['semi;colon.fits', "contains ';'"],
    ['', "No file in the 'files' part."], // busboy takes a part with an empty file name for a field
  ];

  it.each(HOSTILE)('refuses the file name %j with a clear message, touching nothing', async (name, message) => {
    const web = await loggedIn();
    const before = everyFile();
    const reply = await upload(web, name, Buffer.from('SIMPLE  =                    T'));
    expect(reply.status).toBe(400);
    expect(reply.json<{ error: string }>().error).toContain(message);
    expect(everyFile()).toEqual(before);
    expect(fs.existsSync(path.join(site.work, '..', 'escape.fits'))).toBe(false);
  });

  it('refuses a path sent in RFC 5987 form (filename*=) as well', async () => {
    const web = await loggedIn();
    const boundary = 'b0undary';
    const body = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n${web.cookies.get('csrftoken')}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename*=UTF-8''..%2F..%2Fescape.fits\r\n\r\nDATA\r\n--${boundary}--\r\n`,
    );
    const reply = await web.request('/upload/chunked/', { method: 'POST', body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
    expect(reply.status).toBe(400);
    expect(reply.json<{ error: string }>().error).toContain('path separator');
  });

  it('refuses hostile names in deletes and resume queries, deleting nothing outside the folder', async () => {
    const web = await loggedIn();
    const outside = path.join(site.config.serverFiles, 'ingest', 'bob');
    fs.mkdirSync(outside, { recursive: true });
    fs.writeFileSync(path.join(outside, 'keep.fits'), 'bob');
    fs.mkdirSync(ingest, { recursive: true });
    for (const name of ['..%2Fbob%2Fkeep.fits', '%2E%2E', '..%5Cbob%5Ckeep.fits', 'a%00b']) {
      const reply = await web.get(`/upload/delete/${name}`);
      expect([400, 404]).toContain(reply.status);
    }
    expect((await web.get('/upload/chunked/?file=../bob/keep.fits')).status).toBe(400);
    expect(fs.readFileSync(path.join(outside, 'keep.fits'), 'utf8')).toBe('bob');
  });

  it('refuses a file over the size limit, whole or chunked, leaving no file or temporary', async () => {
    const web = await loggedIn();
    const whole = await upload(web, 'huge_drk.fits', randomBytes(LIMIT + 1));
    expect(whole.status).toBe(413);
    expect(whole.json<{ error: string }>().error).toBe(`'huge_drk.fits' is larger than the ${LIMIT}-byte upload limit.`);
    const chunk = await upload(web, 'huge_drk.fits', randomBytes(1000), { 'Content-Range': `bytes 0-999/${LIMIT + 1}` });
    expect(chunk.status).toBe(413);
    expect(fs.readdirSync(ingest)).toEqual([]);
    expect(fs.readdirSync(partials)).toEqual([]);
    expect((await upload(web, 'fits_drk.fits', randomBytes(LIMIT))).status).toBe(200);
  });

  it('fails cleanly on a full disk (ENOSPC from /dev/full), leaving nothing that looks complete', async () => {
    const web = await loggedIn();
    fs.mkdirSync(partials, { recursive: true });
    fs.symlinkSync('/dev/full', path.join(partials, 'full_drk.fits.part'));
    const reply = await upload(web, 'full_drk.fits', randomBytes(1_500_000), { 'Content-Range': 'bytes 0-1499999/3000000' });
    expect(reply.status).toBe(507);
    expect(reply.json<{ error: string }>().error).toBe("The server's disk is full: the upload of 'full_drk.fits' failed and was discarded.");
    expect(fs.readdirSync(ingest)).toEqual([]);
    expect(fs.readdirSync(partials)).toEqual([]);
  });

  it('refuses an upload without a valid CSRF token, and one without a session', async () => {
    const web = await loggedIn();
    const reply = await upload(web, 'forged_drk.fits', Buffer.from('x'), {}, 'z'.repeat(32));
    expect(reply.status).toBe(403);
    expect(reply.json<{ error: string }>().error).toContain('CSRF verification failed');
    expect(fs.existsSync(path.join(ingest, 'forged_drk.fits'))).toBe(false);
    const anonymous = new WebSession(site.url);
    await anonymous.get('/login/');
    expect((await upload(anonymous, 'anon_drk.fits', Buffer.from('x'))).status).toBe(403);
    expect((await anonymous.get('/upload/list/')).json()).toEqual({ error: 'You must log in first.' });
  });
});

describe('list and delete', () => {
  it('keeps each user to their own folder, lists regular files only, and deletes with GET or DELETE', async () => {
    const alice = await loggedIn('alice');
    const bob = await loggedIn('bob');
    await upload(alice, 'a_drk.fits', Buffer.from('alice'));
    await upload(alice, 'b_drk.fits', Buffer.from('alice 2'));
    await upload(bob, 'a_drk.fits', Buffer.from('bob'));
    // The bypass: files dropped straight into the folder count; links and folders do not.
    fs.writeFileSync(path.join(ingest, 'dropped_drk.fits'), 'scp');
    fs.symlinkSync('/etc/passwd', path.join(ingest, 'link.fits'));
    fs.mkdirSync(path.join(ingest, 'folder'));
    expect((await alice.get('/upload/list/')).json<{ files: { name: string }[] }>().files.map((f) => f.name)).toEqual(['a_drk.fits', 'b_drk.fits', 'dropped_drk.fits']);
    expect((await bob.get('/upload/list/')).json()).toEqual({ files: [{ name: 'a_drk.fits', size: 3, deleteUrl: '/upload/delete/a_drk.fits', deleteType: 'DELETE' }] });

    expect((await alice.get('/upload/delete/a_drk.fits')).json()).toBe(true);
    expect((await alice.get('/upload/delete/a_drk.fits')).status).toBe(404);
    expect((await alice.get('/upload/delete/b_drk.fits', { 'Sec-Fetch-Site': 'cross-site' })).status).toBe(403);
    expect((await alice.request('/upload/delete/b_drk.fits', { method: 'DELETE' })).status).toBe(403);
    const del = await alice.request('/upload/delete/b_drk.fits', { method: 'DELETE', headers: { 'X-CSRFToken': alice.cookies.get('csrftoken')! } });
    expect(del.status).toBe(200);
    // Deleting the link removes the link, not what it points to.
    expect((await alice.get('/upload/delete/link.fits')).status).toBe(200);
    expect(fs.existsSync('/etc/passwd')).toBe(true);
    expect(fs.readFileSync(path.join(site.config.serverFiles, 'ingest', 'bob', 'a_drk.fits'), 'utf8')).toBe('bob');
    expect(fs.readdirSync(ingest).sort()).toEqual(['dropped_drk.fits', 'folder']);
  });
});
