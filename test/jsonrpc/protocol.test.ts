// The JSON-RPC transport and the downloads on the demo site (real MariaDB, real web over
// HTTP): envelopes, a table of hostile inputs each refused with the original's error class,
// downloads with Range and bare 404s that never read outside the file cache, marking files
// bad, the dataset catalog, and the real client's --fetch-references and --fetch-sqlite-db.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../support/paths';
import { crds, DEMO_CACHE, run, startSite, type Envelope, type Site } from './site';

jest.setTimeout(120_000);

let site: Site;
beforeAll(async () => {
  site = await startSite({ observatory: 'hst', source: DEMO_CACHE });
});
afterAll(async () => {
  await site?.close();
});

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');
const post = (body: string | Buffer, suffix = '', headers: Record<string, string> = {}) =>
  fetch(`${site.url}/json/${suffix}`, { method: 'POST', body, headers });

function manage(args: string[]): Promise<{ status: number; out: string }> {
  const env = {
    ...process.env,
    CRDS_OBSERVATORY: 'hst',
    CRDS_USECASE: 'local',
    CRDS_DATABASE_URL: site.config.databaseUrl,
    CRDS_FILE_CACHE: site.fileCache,
  };
  return new Promise((resolve) => {
    const child = spawn(path.join(REPO_ROOT, 'ops', 'manage'), args, { env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.on('close', (code) => resolve({ status: code ?? -1, out }));
  });
}

describe('envelope', () => {
  it('answers any suffix and any content type with HTTP 200, the id echoed, result and error both present', async () => {
    for (const [suffix, type] of [['', 'application/x-www-form-urlencoded'], ['get_default_context/sync-14.0.3-x-00000001/', 'text/plain'], ['a/b/c/d', 'application/json']]) {
      const res = await post(JSON.stringify({ jsonrpc: '1.0', method: 'get_default_context', params: ['hst'], id: 'abc-1' }), suffix, { 'Content-Type': type });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/application\/json-rpc/);
      expect((await res.json()) as Envelope).toEqual({ jsonrpc: '1.0', id: 'abc-1', result: 'hst_0002.pmap', error: null });
    }
  });

  it('takes named params and reads missing trailing params as null', async () => {
    const named = (await (await post(JSON.stringify({ method: 'get_default_context', params: { observatory: 'hst', state: 'edit' }, id: 1 }))).json()) as Envelope;
    expect(named.result).toBe('hst_0002.pmap');
    expect(await site.rpc('get_file_info_map', 'hst', ['hst_0001.pmap'])).toEqual({ 'hst_0001.pmap': expect.objectContaining({ name: 'hst_0001.pmap', state: 'archived', type: 'mapping' }) });
  });
});

// [what, method, params, error name, message fragment]
const HOSTILE: [string, string, unknown, string, RegExp][] = [
  ['unknown method', 'drop_database', [], 'MethodNotFoundError', /Method 'drop_database' not found/],
  ['prototype method name', '__proto__', [], 'MethodNotFoundError', /not found/],
  ['constructor method name', 'constructor', [], 'MethodNotFoundError', /not found/],
  ['too many params', 'get_default_context', ['hst', 'latest', 'x'], 'InvalidParamsError', /at most 2/],
  ['unknown named param', 'get_default_context', { observatory: 'hst', evil: 1 }, 'InvalidParamsError', /no parameter 'evil'/],
  ['params a string', 'get_server_info', 'x', 'InvalidParamsError', /list or an object/],
  ['other observatory', 'get_default_context', ['jwst'], 'InvalidObservatoryError', /Mismatch between requested observatory 'jwst'/],
  ['observatory not a string', 'list_mappings', [{ $ne: 1 }, '*'], 'InvalidObservatoryError', /Mismatch/],
  ['unknown context state', 'get_default_context', ['hst', 'operational; DROP TABLE'], 'UnknownContextError', /Unknown context state/],
  ['unknown file', 'get_file_info', ['hst', 'hst_9999.pmap'], 'UnknownFile', /File 'hst_9999.pmap' is not known to CRDS\./],
  ['path in file name', 'get_file_info', ['hst', '../../etc/passwd'], 'BadFilenameError', /Invalid file name/],
  ['file name too long', 'get_file_info', ['hst', 'a'.repeat(300)], 'BadFilenameError', /Invalid file name/],
  ['context of another observatory', 'get_mapping_names', ['jwst_0541.pmap'], 'MismatchedContextError', /does not belong to observatory 'hst'/],
  ['unknown context', 'get_best_references', ['hst_0999.pmap', { INSTRUME: 'ACS' }, null], 'UnknownFile', /not known to CRDS/],
  ['context not a string', 'get_best_references', [['hst_0002.pmap'], {}, null], 'UnknownContextError', /must be a string/],
  ['imap as bestrefs context', 'get_best_references', ['hst_acs_0002.imap', { INSTRUME: 'ACS' }, null], 'UnknownContextError', /not a pipeline context/],
  ['garbage context', 'get_mapping_names', ['<script>alert(1)</script>'], 'UnknownContextError', /Invalid context/],
  ['date before any history', 'get_context_by_date', ['1990-01-01T00:00:00'], 'UnknownContextError', /No CRDS context found corresponding to \(prior to\) date/],
  ['impossible date', 'get_context_by_date', ['hst-2019-13-45T99:99:99'], 'InvalidDateFormat', /Invalid date/],
  ['header not an object', 'get_best_references', ['hst_0002.pmap', ['INSTRUME', 'ACS'], null], 'InvalidHeaderError', /must be an object/],
  ['header value not a string', 'get_best_references', ['hst_0002.pmap', { INSTRUME: 'ACS', DETECTOR: 7 }, null], 'InvalidHeaderError', /Bad header value for key 'DETECTOR'/],
  ['header value too long', 'get_best_references', ['hst_0002.pmap', { INSTRUME: 'A'.repeat(257) }, null], 'InvalidHeaderError', /Bad header value/],
  ['header key with spaces', 'get_best_references', ['hst_0002.pmap', { 'INSTRUME; rm -rf': 'ACS' }, null], 'InvalidHeaderError', /Bad header key/],
  ['header key __proto__ value', 'get_best_references', ['hst_0002.pmap', JSON.parse('{"__proto__": {"x": 1}, "INSTRUME": "ACS"}'), null], 'InvalidHeaderError', /Bad header value for key '__proto__'/],
  ['unknown reftype', 'get_best_references', ['hst_0002.pmap', { INSTRUME: 'ACS' }, ['darkfile', 'nosuchtype']], 'InvalidReftypesError', /'nosuchtype' is not known/],
  ['reftypes not a list', 'get_best_references', ['hst_0002.pmap', { INSTRUME: 'ACS' }, 'darkfile'], 'InvalidReftypesError', /must be a list/],
  ['no instrument in header', 'get_best_references', ['hst_0002.pmap', { DETECTOR: 'WFC' }, null], 'OtherError', /Missing 'INSTRUME' keyword/],
  ['unknown instrument', 'get_best_references', ['hst_0002.pmap', { INSTRUME: 'STIS' }, null], 'OtherError', /Unknown instrument 'stis'/],
  ['bad list glob', 'list_references', ['hst', '../*'], 'BadListGlobError', /Invalid list glob/],
  ['files not a list', 'get_file_info_map', ['hst', 'hst_0001.pmap', null], 'InvalidFileList', /must be a list/],
  ['bad field name', 'get_file_info_map', ['hst', null, ['name; drop']], 'InvalidFieldList', /Invalid field/],
  ['too many dataset ids', 'get_dataset_headers_by_id', ['hst_0002.pmap', Array.from({ length: 1001 }, (_, i) => `X${i}`)], 'InvalidDatasetIds', /Too many dataset ids/],
  ['bad dataset id', 'get_dataset_headers_by_id', ['hst_0002.pmap', ["x' OR 1=1 --"]], 'InvalidDatasetIds', /Invalid dataset id/],
  ['affected datasets never computed', 'get_affected_datasets', ['hst', 'hst_0001.pmap', 'hst_0002.pmap'], 'OtherError', /No precomputed affected datasets results exist for old_context='hst_0001.pmap' and new_context='hst_0002.pmap'/],
  ['unpushable kind', 'push_remote_context', ['hst', 'edit', '8e2ac5b8-52c4-4bb2-a1ad-2c1e1f9d7e5a', 'hst_0002.pmap'], 'UnpushableContextKind', /cannot be pushed/],
  ['unknown pipeline', 'get_remote_context', ['hst', 'nobody'], 'InvalidPipelineName', /Unknown pipeline name 'nobody'/],
  ['bad calver', 'get_build_context', ['hst', 'latest'], 'OtherError', /Invalid version string/],
];

describe('hostile input', () => {
  it.each(HOSTILE)('%s: refused with the original error class', async (_what, method, params, name, message) => {
    const reply = await site.rpcEnvelope(method, params);
    expect(reply.result).toBeNull();
    expect(reply.error).toEqual({ name, code: expect.any(Number), message: expect.stringMatching(new RegExp(`^${name}: `)), data: null });
    expect(reply.error!.message).toMatch(message);
  });

  it.each([
    ['not JSON', '{"method": ', 'ParseError'],
    ['empty body', '', 'ParseError'],
    ['a JSON list', '[1, 2]', 'InvalidRequestError'],
    ['no method', '{"params": []}', 'InvalidRequestError'],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'ParseError'],
  ] as [string, string | Buffer, string][])('garbage body (%s) gets a JSON-RPC error', async (_what, body, name) => {
    const res = await post(body);
    expect(res.status).toBe(200);
    const reply = (await res.json()) as Envelope;
    expect(reply).toMatchObject({ result: null, error: { name } });
  });

  it('refuses a body above the size limit with a JSON-RPC error, not a dropped connection', async () => {
    const res = await post(Buffer.alloc(17 * 1024 * 1024, 0x20));
    expect(res.status).toBe(413); // refused unread (issue 13 item 3), still with an envelope
    expect(((await res.json()) as Envelope).error?.name).toBe('InvalidRequestError');
  });

  it('still answers normally after all that', async () => {
    expect(await site.rpc('get_best_references', 'hst_0002.pmap', { INSTRUME: 'ACS', DETECTOR: 'WFC', CCDAMP: 'ABCD', 'DATE-OBS': '2017-01-01', 'TIME-OBS': '00:00:00' }, null)).toEqual({
      darkfile: 'd1a1001cj_drk.fits',
      flshfile: 'd1a1000bj_fls.fits',
    });
  });
});

describe('downloads', () => {
  const refUrl = (name: string) => `${site.url}/unchecked_get/references/hst/${name}`;
  const source = (name: string) => fs.readFileSync(path.join(DEMO_CACHE, 'references', 'hst', name));

  it('serves a catalogued file whole, with its exact length', async () => {
    const res = await fetch(refUrl('d1a1001cj_drk.fits'));
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    expect(res.headers.get('content-length')).toBe(String(source('d1a1001cj_drk.fits').length));
    expect(sha1(body)).toBe(sha1(source('d1a1001cj_drk.fits')));
    const mapping = await fetch(`${site.url}/unchecked_get/mappings/hst/hst_0002.pmap`);
    expect(mapping.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await mapping.text()).toBe(fs.readFileSync(path.join(DEMO_CACHE, 'mappings', 'hst', 'hst_0002.pmap'), 'utf8'));
  });

  it('serves byte ranges', async () => {
    const res = await fetch(refUrl('d1a1001cj_drk.fits'), { headers: { Range: 'bytes=2880-2889' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes 2880-2889/${source('d1a1001cj_drk.fits').length}`);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(source('d1a1001cj_drk.fits').subarray(2880, 2890));
    const beyond = await fetch(refUrl('d1a1001cj_drk.fits'), { headers: { Range: 'bytes=999999-' } });
    expect(beyond.status).toBe(416);
  });

  it('/get/<name> redirects to the download', async () => {
    const res = await fetch(`${site.url}/get/hst_0001.pmap`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`${site.url}/unchecked_get/mappings/hst/hst_0001.pmap`);
  });

  it('answers every unsafe or unknown path with the same bare 404, never a file outside the cache', async () => {
    // A file next to the cache that a traversal would reach.
    fs.writeFileSync(path.join(site.fileCache, 'secret.txt'), 'secret');
    fs.writeFileSync(path.join(site.fileCache, 'references', 'hst', 'uncatalogued.fits'), 'not catalogued');
    const paths = [
      '/unchecked_get/references/hst/nosuch.fits',
      '/unchecked_get/references/hst/uncatalogued.fits',
      '/unchecked_get/references/hst/..%2F..%2Fsecret.txt',
      '/unchecked_get/references/hst/..%2fsecret.txt',
      '/unchecked_get/references/hst/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/unchecked_get/references/hst/..',
      '/unchecked_get/references/hst/.hidden',
      '/unchecked_get/references/jwst/d1a1001cj_drk.fits',
      '/unchecked_get/mappings/hst/d1a1001cj_drk.fits',
      '/unchecked_get/references/hst/hst_0002.pmap',
      '/unchecked_get/config/hst/server_config',
      '/unchecked_get/references/hst/d1a1001cj_drk.fits%00.txt',
      '/unchecked_get/references/hst/d1a1001cj_drk.fits%5C..%5Csecret.txt',
      '/get/..%2Fsecret.txt',
      '/get/nosuch.fits',
    ];
    for (const p of paths) {
      const res = await fetch(site.url + p);
      const body = await res.text();
      expect([p, res.status]).toEqual([p, 404]);
      expect(body).not.toContain('secret');
      expect(body).not.toContain(site.fileCache);
    }
  });
});

describe('marking files bad', () => {
  it('refuses a file of the latest context, and changes nothing', async () => {
    const r = await manage(['mark-bad', '--why', 'dark wrong', '--user', 'tester', 'd1a1001aj_drk.fits']);
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/is in the latest context 'hst_0002.pmap'/);
    expect((await site.rpc<{ bad_files_list: string[] }>('get_server_info')).bad_files_list).toEqual([]);
  });

  it('rejects an old rmap, blacklists the mappings above it, and clients see both; --ok clears them', async () => {
    const r = await manage(['mark-bad', '--why', 'wrong darks', '--user', 'tester', 'hst_acs_darkfile_0001.rmap']);
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/blacklisted: hst_0001\.pmap hst_acs_0001\.imap/);
    expect((await site.rpc<{ bad_files_list: string[] }>('get_server_info')).bad_files_list).toEqual(['hst_acs_darkfile_0001.rmap']);
    const info = await site.rpc<Record<string, Record<string, string>>>('get_file_info_map', 'hst', ['hst_acs_darkfile_0001.rmap', 'hst_0001.pmap', 'hst_0002.pmap'], ['rejected', 'blacklisted']);
    expect(info).toEqual({
      'hst_acs_darkfile_0001.rmap': { rejected: 'true', blacklisted: 'false' },
      'hst_0001.pmap': { rejected: 'false', blacklisted: 'true' },
      'hst_0002.pmap': { rejected: 'false', blacklisted: 'false' },
    });
    const audit = await site.db.models.AuditRecord.findOne({ where: { action: 'blacklist', filename: 'hst_acs_darkfile_0001.rmap' } });
    expect([audit?.username, audit?.why]).toEqual(['tester', 'wrong darks']);
    const ok = await manage(['mark-bad', '--ok', '--why', 'darks fine after all', '--user', 'tester', 'hst_acs_darkfile_0001.rmap']);
    expect(ok.status).toBe(0);
    expect((await site.rpc<{ bad_files_list: string[] }>('get_server_info')).bad_files_list).toEqual([]);
    expect(await site.db.models.CatalogFile.count({ where: { blacklisted: true } })).toBe(0);
  });
});

describe('datasets and the client\'s other fetches', () => {
  it('gen-datasets fills the dataset catalog that get_dataset_ids / headers / bestrefs_by_ids answer from', async () => {
    const r = await manage(['gen-datasets', '--context', 'hst_0002.pmap', '--count', '40', '--seed', '7']);
    expect(r.out).toMatch(/stored 40 datasets/);
    const ids = await site.rpc<string[]>('get_dataset_ids', 'hst_0002.pmap', 'acs');
    expect(ids.length).toBeGreaterThan(5);
    const headers = await site.rpc<Record<string, Record<string, string>>>('get_dataset_headers_by_id', 'hst_0002.pmap', [ids[0], 'NOPE:NOPE']);
    expect(headers[ids[0]].INSTRUME).toBe('ACS');
    expect(headers['NOPE:NOPE']).toMatch(/^NOT FOUND/);
    const byIds = await site.rpc<Record<string, [boolean, Record<string, string>]>>('get_best_references_by_ids', 'hst_0002.pmap', ids.slice(0, 5), null, false);
    for (const id of ids.slice(0, 5)) {
      expect(byIds[id][0]).toBe(true);
      // Each generated dataset comes from one row of the rules: its own type finds a file.
      expect(Object.values(byIds[id][1]).some((ref) => /\.fits$/.test(ref))).toBe(true);
      expect(byIds[id][1]).toEqual(await site.rpc('get_best_references', 'hst_0002.pmap', headers[id] ?? (await site.rpc<Record<string, Record<string, string>>>('get_dataset_headers_by_id', 'hst_0002.pmap', [id]))[id], null));
    }
  });

  it('crds sync --fetch-references brings every reference of the context; --fetch-sqlite-db the catalog', async () => {
    const cache = path.join(site.work, 'demo-client');
    const r = await crds(site, cache, ['sync', '--contexts', 'hst_0002.pmap', '--fetch-references']);
    expect(r.stderr).toMatch(/(^|\s)0 errors/m);
    expect(r.status).toBe(0);
    const refs = fs.readdirSync(path.join(DEMO_CACHE, 'references', 'hst'));
    for (const name of refs) {
      const dir = path.join(cache, 'references', 'hst');
      const local = [path.join(dir, name), ...fs.readdirSync(dir).map((d) => path.join(dir, d, name))].find((f) => fs.existsSync(f) && fs.statSync(f).isFile());
      expect(local && sha1(fs.readFileSync(local))).toBe(sha1(source(name)));
    }
    // (--fetch-sqlite-db does only that, so it is a second command.)
    const fetched = await crds(site, cache, ['sync', '--fetch-sqlite-db']);
    expect(fetched.status).toBe(0);
    const sql = await run(path.join(path.dirname(process.env.CRDS_PYTHON ?? path.join(REPO_ROOT, '.venv', 'bin', 'python')), 'crds'), ['sql', "select name, state from crds_hst_catalog where name = 'hst_0002.pmap'"], { CRDS_PATH: cache, CRDS_SERVER_URL: site.url, CRDS_OBSERVATORY: 'hst' });
    expect(sql.stdout).toMatch(/hst_0002\.pmap.*latest/);
  });
});

function source(name: string): Buffer {
  return fs.readFileSync(path.join(DEMO_CACHE, 'references', 'hst', name));
}
