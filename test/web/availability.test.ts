// No single request may crash the web or hold its event loop (issue 13 items 1-5), on the demo
// site over real HTTP (SQLite catalog: its expression-depth limit is the one a large dataset
// query hit). Each block is a class of defect, tried with several payloads.
import * as http from 'node:http';
import { execFileSync } from 'node:child_process';
import { matcher } from '../../crds/matchers';
import { compileGlob } from '../../crds/glob';
import { bumpGeneration as bumpCatalogGeneration } from '../../db/catalog';
import { methods } from '../../web/jsonrpc/methods';
import { GLOB_RE } from '../../web/jsonrpc/checks';
import { BodyBudget } from '../../web/body-budget';
import { CRDS_PYTHON } from '../support/paths';
import { DEMO_CACHE, startSite, type Envelope, type Site } from '../jsonrpc/site';

jest.setTimeout(120_000);

let site: Site;
const budget = new BodyBudget(4 * 1024 * 1024);
beforeAll(async () => {
  site = await startSite({ observatory: 'hst', source: DEMO_CACHE, dialect: 'sqlite', app: { bodyBudget: budget } });
});
afterAll(async () => {
  await site?.close();
});

const post = async (body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; text: string; ms: number }> => {
  const t0 = Date.now();
  const res = await fetch(`${site.url}/json/`, { method: 'POST', body, headers });
  return { status: res.status, text: await res.text(), ms: Date.now() - t0 };
};
const rpcBody = (fields: Record<string, unknown>) => JSON.stringify({ jsonrpc: '1.0', ...fields });
const deep = (depth: number, open = '[', close = ']', inner = '1') => open.repeat(depth) + inner + close.repeat(depth);
const healthy = async () => expect((await fetch(`${site.url}/health`)).status).toBe(200);

describe('1. nothing a request echoes can crash the reply', () => {
  it.each([
    ['an id nested 100,000 lists deep', `{"method":"get_default_context","params":["hst"],"id":${deep(100_000)}}`],
    ['an id nested 100,000 objects deep', `{"method":"get_default_context","params":["hst"],"id":${deep(100_000, '{"a":', '}')}}`],
    ['an id of 1 MB', rpcBody({ method: 'get_default_context', params: ['hst'], id: 'x'.repeat(1 << 20) })],
    ['an object id', rpcBody({ method: 'get_default_context', params: ['hst'], id: { a: 1 } })],
    ['a boolean id', rpcBody({ method: 'get_default_context', params: ['hst'], id: true })],
  ])('%s: InvalidRequestError with a null id, and the server still answers', async (_what, body) => {
    const { status, text } = await post(body);
    expect(status).toBe(200);
    expect(text.length).toBeLessThan(2000);
    expect(JSON.parse(text)).toMatchObject({ id: null, result: null, error: { name: 'InvalidRequestError' } });
    await healthy();
  });

  it('deeply nested params and named params are argument errors of their method, for every method', async () => {
    const names = Object.keys(methods({ config: site.config } as never));
    for (const method of names) {
      for (const params of [`[${deep(50_000)}]`, `{"context":${deep(50_000, '{"a":', '}')}}`, deep(50_000)]) {
        const { status, text } = await post(`{"method":"${method}","params":${params},"id":"n-1"}`);
        expect(status).toBe(200);
        const reply = JSON.parse(text) as Envelope;
        // Refused before parsing (too deep: id unknown, null) or an argument error echoing the id.
        if (reply.error?.name !== 'InvalidRequestError') expect(reply.id).toBe('n-1');
        // An error or a result, but never an unexpected failure (those say "the error is logged").
        expect(reply.error?.message ?? '').not.toMatch(/error is logged/);
        expect(text.length).toBeLessThan(4000);
      }
    }
    await healthy();
  });

  it('keeps every echoed argument short: huge unknown parameter lists, method names and values', async () => {
    const keys = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}_${'y'.repeat(60)}`, 1]));
    for (const body of [
      rpcBody({ method: 'get_default_context', params: keys, id: 1 }),
      rpcBody({ method: 'm'.repeat(1 << 20), params: [], id: 2 }),
      rpcBody({ method: 'get_file_info', params: ['hst', 'z'.repeat(1 << 20)], id: 3 }),
      rpcBody({ method: 'get_best_references_by_header_map', params: ['hst_0002.pmap', { ['D'.repeat(100_000)]: {} }], id: 4 }),
    ]) {
      const { text } = await post(body);
      expect(text.length).toBeLessThan(3000);
      expect((JSON.parse(text) as Envelope).error).not.toBeNull();
    }
  });
});

describe('2. glob patterns match in linear time with fnmatch semantics', () => {
  // Runs of '*' are the worst for a regex translation: 10 took 68 s per name on the old matcher.
  const hostile = ['*'.repeat(20) + 'Q', '*h*s*t*_*0*0*0*0*0*0*0*0*0*0*0*0*0*0*0*0*0*Q', '*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b', `${'*_'.repeat(60)}Z`];
  it.each(hostile)('list_mappings / list_references of %s answer at once', async (glob) => {
    for (const method of ['list_mappings', 'list_references']) {
      const t0 = Date.now();
      expect(await site.rpc(method, 'hst', glob)).toEqual([]);
      expect(Date.now() - t0).toBeLessThan(1000);
    }
  });

  it('answers the same names as Python fnmatch for ordinary and bracketed patterns', async () => {
    const all = await site.rpc<string[]>('list_mappings', 'hst', '*');
    expect(all.length).toBeGreaterThan(5);
    const patterns = ['*', 'hst_*.pmap', '*acs*', 'hst_acs_[a-d]*', 'hst_[!a]*', '*_000[0-9].rmap', 'hst_acs_biasfile_0001.rmap', '*[]*', '*.[pi]map', 'hst_wfc3_*_000?.rmap'];
    const python = JSON.parse(
      execFileSync(CRDS_PYTHON, ['-c', 'import fnmatch,json,sys; d=json.load(sys.stdin); print(json.dumps([fnmatch.filter(d["names"], p) for p in d["patterns"]]))'], {
        input: JSON.stringify({ names: all, patterns }),
      }).toString(),
    ) as string[][];
    patterns.forEach((p, i) => expect([p, all.filter((n) => compileGlob(p).test(n))]).toEqual([p, python[i]]));
    for (const [i, p] of patterns.entries()) if (GLOB_RE.test(p)) expect([p, await site.rpc('list_mappings', 'hst', p)]).toEqual([p, python[i]]);
  });

  it('rmap glob keys (A|B*|*C) match a 256-character value in linear time too', () => {
    const m = matcher('*A*A*A*A*A*A*A*A*A*A*A*A*B|X*');
    const t0 = Date.now();
    expect(m.match('A'.repeat(256))).toBe(-1);
    expect(m.match('XA')).toBe(1);
    expect(m.match('N/A')).toBe(0);
    expect(Date.now() - t0).toBeLessThan(200);
  });
});

describe('3. request bodies held at once are bounded', () => {
  /** Opens a JSON-RPC POST declaring `size` bytes, sends `sent` of them and leaves it open. */
  const open = (size: number, sent: number) =>
    new Promise<{ status?: number; req: http.ClientRequest }>((resolve) => {
      const req = http.request(`${site.url}/json/`, { method: 'POST', headers: { 'Content-Length': size } });
      const out: { status?: number; req: http.ClientRequest } = { req };
      req.on('response', (res) => {
        out.status = res.statusCode;
        res.resume();
      });
      req.on('error', () => undefined);
      req.write(Buffer.alloc(sent, 0x20), () => setTimeout(() => resolve(out), 100));
    });

  it('refuses bodies past the process total with 503 while others are held, and releases them all', async () => {
    const held = await Promise.all(Array.from({ length: 8 }, () => open(2 << 20, 1 << 20)));
    try {
      for (let i = 0; i < 50 && !held.some((h) => h.status === 503); i++) await new Promise((r) => setTimeout(r, 100));
      // 8 MB arriving against a 4 MB budget: some refused, never more than the budget held.
      expect(held.filter((h) => h.status === 503).length).toBeGreaterThanOrEqual(1);
      expect(budget.peak).toBeLessThanOrEqual(budget.total);
      expect(budget.peak).toBeGreaterThan(budget.total / 2);
    } finally {
      for (const h of held) h.req.destroy();
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(budget.inUse).toBe(0);
    expect(await site.rpc('get_default_context', 'hst')).toBe('hst_0002.pmap');
  });

  it('refuses a body declared or sent past its own limit with 413 without reading it', async () => {
    const declared = await open(17 << 20, 1024);
    await new Promise((r) => setTimeout(r, 100));
    expect(declared.status).toBe(413);
    declared.req.destroy();
    expect(budget.inUse).toBe(0);
  });

  it('refuses form bodies past the total with 503 too', async () => {
    const held = await Promise.all(
      Array.from({ length: 24 }, () =>
        new Promise<{ status?: number; req: http.ClientRequest }>((resolve) => {
          const req = http.request(`${site.url}/login/`, { method: 'POST', headers: { 'Content-Length': 256 * 1024, 'Content-Type': 'application/x-www-form-urlencoded' } });
          const out: { status?: number; req: http.ClientRequest } = { req };
          req.on('response', (res) => ((out.status = res.statusCode), res.resume()));
          req.on('error', () => undefined);
          req.write('a=' + 'b'.repeat(1000), () => setTimeout(() => resolve(out), 100));
        }),
      ),
    );
    try {
      // Answers can be slow on a loaded machine: wait for them (the held ones never answer).
      for (let i = 0; i < 50 && held.filter((h) => h.status === 503).length < 8; i++) await new Promise((r) => setTimeout(r, 100));
      // 24 forms of 256 KB declared against 4 MB: at least 8 refused at once.
      expect(held.filter((h) => h.status === 503).length).toBeGreaterThanOrEqual(8);
    } finally {
      for (const h of held) h.req.destroy();
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(budget.inUse).toBe(0);
  });
});

describe('4. catalog-sized answers are computed once per catalog generation', () => {
  it.each([
    ['get_sqlite_db', ['hst']],
    ['get_server_info', []],
    ['list_mappings', ['hst', '*']],
    ['get_mapping_names', ['hst_0002.pmap']],
    ['get_required_parkeys', ['hst_0002.pmap']],
  ])('%s: repeats cost a fraction of the first and give the same answer', async (method, params) => {
    await bumpGeneration();
    const t0 = performance.now();
    const first = await site.rpcEnvelope(method, params);
    const firstMs = performance.now() - t0;
    const t1 = performance.now();
    let again: Envelope | undefined;
    for (let i = 0; i < 20; i++) again = await site.rpcEnvelope(method, params);
    const repeatMs = (performance.now() - t1) / 20;
    const strip = (e: Envelope) => JSON.stringify({ ...(e.result as object), last_synced: 0 });
    expect(strip(again!)).toBe(strip(first));
    if (method === 'get_sqlite_db') expect(repeatMs).toBeLessThan(firstMs / 3);
  });

  it('get_sqlite_db follows the catalog: a new generation gives a new snapshot', async () => {
    const before = await site.rpc<string>('get_sqlite_db', 'hst');
    await site.db.models.ContextHistory.create({ startDate: new Date(), context: 'hst_0001.pmap', state: 'latest', description: 'availability test' } as never);
    await bumpGeneration();
    expect(await site.rpc<string>('get_sqlite_db', 'hst')).not.toBe(before);
  });
});

const bumpGeneration = () => bumpCatalogGeneration(site.db);

describe('5. client mistakes are 4xx answers with one log line; advertised limits hold', () => {
  it('answers malformed percent-encoding in any path with 400 or 404, never 500, logging no stack', async () => {
    const errors = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const warnings = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      for (const bad of ['%E0%A4%A', '%', '%ZZ', '%C0%AF', 'a%2', '%uD800']) {
        for (const path of [`/unchecked_get/references/hst/${bad}`, `/unchecked_get/mappings/${bad}/x`, `/get/${bad}`, `/submission/${bad}/`, `/static/${bad}`, `/${bad}`, `/display_result/${bad}`, `/upload/${bad}`]) {
          const res = await fetch(site.url + path);
          expect([path, [400, 404].includes(res.status)]).toEqual([path, true]);
          expect(await res.text()).not.toMatch(/URIError|at .*\.js/);
        }
      }
      expect(errors).not.toHaveBeenCalled();
      for (const [line] of warnings.mock.calls) expect(String(line).split('\n')).toHaveLength(1);
    } finally {
      errors.mockRestore();
      warnings.mockRestore();
    }
  });

  it('get_dataset_headers_by_id and bestrefs by ids take max_headers_per_rpc ids, products and exact ids alike', async () => {
    const info = await site.rpc<{ max_headers_per_rpc: number; max_bestrefs_per_rpc: number }>('get_server_info');
    const n = info.max_headers_per_rpc;
    const rows = Array.from({ length: n }, (_, i) => ({ datasetId: `J${String(i).padStart(7, '0')}Q:J${String(i).padStart(7, '0')}Q`, instrument: 'acs', header: { INSTRUME: 'ACS', N: String(i) } }));
    await site.db.models.Dataset.bulkCreate(rows);
    const products = rows.map((r) => r.datasetId.split(':')[0]);
    const exact = rows.map((r) => r.datasetId);
    for (const ids of [products, exact, [...products.slice(0, n / 2), ...exact.slice(n / 2)]]) {
      const headers = await site.rpcEnvelope('get_dataset_headers_by_id', ['hst_0002.pmap', ids]);
      expect(headers.error).toBeNull();
      expect(Object.keys(headers.result as object)).toHaveLength(n);
      const refs = await site.rpcEnvelope('get_best_references_by_ids', ['hst_0002.pmap', ids.slice(0, info.max_bestrefs_per_rpc), null, false]);
      expect(refs.error).toBeNull();
    }
    // '_' is no wildcard: a product id does not select another product's members.
    expect(await site.rpc('get_dataset_headers_by_id', 'hst_0002.pmap', ['J000000_Q'])).toEqual({ J000000_Q: "NOT FOUND dataset 'J000000_Q'" });
  });

  it('never sends database or engine error texts: a failing database is an OtherError with a log reference', async () => {
    const errors = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    // A real database failure: the table is away for this one call.
    await site.db.sequelize.query('ALTER TABLE datasets RENAME TO datasets_away');
    try {
      const reply = await site.rpcEnvelope('get_dataset_headers_by_id', ['hst_0002.pmap', ['J0000001Q']]);
      expect(reply.error).toMatchObject({ name: 'OtherError' });
      expect(reply.error!.message).toMatch(/reference \d+-\d+/);
      expect(reply.error!.message).not.toMatch(/SQLITE|select|datasets/i);
      expect(errors).toHaveBeenCalledTimes(1);
      expect(errors.mock.calls[0]!.map(String).join(' ')).toMatch(/no such table: datasets/);
    } finally {
      await site.db.sequelize.query('ALTER TABLE datasets_away RENAME TO datasets');
      errors.mockRestore();
    }
  });
});
