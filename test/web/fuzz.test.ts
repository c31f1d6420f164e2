// Property-based fuzzing (fast-check, fixed seed, bounded runs) of the JSON-RPC handler and of
// every Express route's parameters, queries and bodies, anonymous and logged in, on the demo
// site over real HTTP (issue 13 item 6). For every input: no unexpected failure (no 500, no
// "error is logged" answer, nothing logged as a failure), an answer within a bound, and /health
// answering meanwhile.
import * as fc from 'fast-check';
import type { Server } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createUser } from '../../db/accounts';
import { expressApps } from '../../web/app';
import { methods } from '../../web/jsonrpc/methods';
import { DEMO_CACHE, startSite, type Envelope, type Site } from '../jsonrpc/site';
import { WebSession } from './web-session';

jest.setTimeout(180_000);

const SEED = 20261203;
const ANSWER_MS = 3000;
let site: Site;
let health: { stop(): Promise<{ worstMs: number; failures: number; polls: number }> };
let errors: jest.SpyInstance;
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
const slow: string[] = [];
let lastCase = '';

beforeAll(async () => {
  site = await startSite({ observatory: 'hst', source: DEMO_CACHE, dialect: 'sqlite' });
  await createUser(site.db, { username: 'fuzzer', password: 'fuzzer-password', email: 'fuzzer@example.org' });
  errors = jest.spyOn(console, 'error');
  jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  await fetch(`${site.url}/health`); // warm-up: the first check opens the Temporal connection
  loopDelay.enable();
  health = pollHealth();
});
afterAll(async () => {
  jest.restoreAllMocks();
  await site?.close();
});

/** Polls /health every 100 ms until stopped: the worst answer time and the failures. */
function pollHealth() {
  let worstMs = 0;
  let failures = 0;
  let polls = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const t0 = Date.now();
      try {
        const res = await fetch(`${site.url}/health`, { signal: AbortSignal.timeout(5000) });
        await res.text();
        if (res.status !== 200) failures++;
      } catch {
        failures++;
      }
      worstMs = Math.max(worstMs, Date.now() - t0);
      if (Date.now() - t0 > 500) slow.push(`${lastCase} (${Date.now() - t0} ms)`);
      polls++;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { worstMs, failures, polls };
    },
  };
}

/** Values the server knows (real names, contexts, globs) among arbitrary ones, some hostile. */
const known = ['hst', 'jwst', 'hst_0002.pmap', 'hst_0001.pmap', 'hst_acs.imap', 'hst-operational', 'hst-2020-01-01T00:00:00', 'hst-acs-biasfile-edit', 'latest', 'edit', '*', '*.rmap', 'hst_acs_[a-z]*', 'acs', 'biasfile', '1.0.0', 'J8CB01010', 'J8CB01010:J8CB01010'];
const hostileStrings = fc.oneof(
  fc.constantFrom('%', '%ZZ', '%E0%A4%A', '../../etc/passwd', '..%2f..%2f', '\u0000', '\ud800', '<script>alert(1)</script>', "' OR 1=1 --", '*'.repeat(128), '*a'.repeat(64) + 'Q', 'x'.repeat(5000)),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);
const scalar = fc.oneof(fc.constantFrom(...known), hostileStrings, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, fc.array(tie('v'), { maxLength: 5 }), fc.dictionary(fc.oneof(fc.constantFrom('INSTRUME', 'DETECTOR', 'DATE-OBS', 'META.INSTRUMENT.NAME'), fc.string({ maxLength: 10 })), tie('v'), { maxKeys: 5 })),
})).v;
/** encodeURIComponent, with lone surrogates sent as their (invalid) UTF-8 bytes' escapes. */
const encodeSegment = (s: string) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '\ufffd')).replace(/%EF%BF%BD/g, '%ED%A0%80');
/** A value nested `depth` lists deep, as text (JSON.stringify would overflow building it). */
const deepText = fc.integer({ min: 1000, max: 200_000 }).map((d) => '['.repeat(d) + '0' + ']'.repeat(d));

describe('JSON-RPC', () => {
  it('answers every request without an unexpected failure, in bounded time', async () => {
    const names = Object.keys(methods({ config: site.config } as never));
    const request = fc.oneof(
      { weight: 8, arbitrary: fc.record({ method: fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 30 })), params: fc.oneof(fc.array(value, { maxLength: 5 }), fc.dictionary(fc.string({ maxLength: 12 }), value, { maxKeys: 4 }), value), id: fc.oneof(fc.string({ maxLength: 300 }), fc.integer(), fc.constant(null), value) }, { requiredKeys: ['method'] }).map((r) => JSON.stringify(r)) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...names), deepText).map(([m, d]) => `{"method":"${m}","params":[${d}],"id":${d}}`) },
      { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 200 }), fc.json(), fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1'))) },
    );
    await fc.assert(
      fc.asyncProperty(request, async (body) => {
        lastCase = `rpc ${body.slice(0, 60)}`;
        const t0 = Date.now();
        const res = await fetch(`${site.url}/json/`, { method: 'POST', body, signal: AbortSignal.timeout(10_000) });
        const text = await res.text();
        expect(Date.now() - t0).toBeLessThan(ANSWER_MS);
        expect(res.status).toBe(200);
        const reply = JSON.parse(text) as Envelope;
        expect(reply.error === null || typeof reply.error.name === 'string').toBe(true);
        expect(reply.error?.message ?? '').not.toMatch(/error is logged/);
        expect(text.length).toBeLessThan(2_000_000);
      }),
      { seed: SEED, numRuns: 400, endOnFailure: true },
    );
    expect(errors).not.toHaveBeenCalled();
  });
});

interface RouteSpec {
  method: string;
  path: string;
}

/** Every route of the Express app (routers mounted at the root, as app.ts mounts them). */
function routes(server: Server): RouteSpec[] {
  const app = expressApps.get(server) as unknown as { router: { stack: Layer[] } };
  interface Layer {
    route?: { path: string | RegExp | (string | RegExp)[]; methods: Record<string, boolean> };
    handle?: { stack?: Layer[] };
  }
  const out: RouteSpec[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      // A route may answer several paths (router.get(['/ops', '/ops/'], …)): each is fuzzed.
      if (layer.route) for (const m of Object.keys(layer.route.methods)) for (const p of [layer.route.path].flat()) out.push({ method: m.toUpperCase(), path: typeof p === 'string' ? p : regexRoute(p) });
      else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk(app.router.stack);
  return out;
}

describe('Express routes', () => {
  const segment = fc.oneof(fc.constantFrom(...known, 'references', 'mappings', 'fuzzer', '1', 'hst_acs_biasfile_0001.rmap'), hostileStrings.map(encodeSegment), fc.constantFrom('%', '%ZZ', '%E0%A4%A', '..', '%2e%2e', '%00'));
  const form = fc.dictionary(fc.oneof(fc.constantFrom('username', 'password', 'instrument', 'next', 'description', 'auto_rename', 'pmap_mode', 'pmap_edit', 'change_level', 'compare_old_reference', 'results_id', 'button', 'name', 'filename'), fc.string({ maxLength: 10 })), fc.oneof(fc.constantFrom(...known), hostileStrings), { maxKeys: 6 });
  const headers = fc.record(
    { 'content-type': fc.constantFrom('application/x-www-form-urlencoded', 'multipart/form-data; boundary=xyz', 'multipart/form-data', 'application/json', 'text/plain'), 'content-range': fc.oneof(fc.constantFrom('bytes 0-3/4', 'bytes 5-1/4', 'bytes */*', 'bytes 0-99999999999/100000000000'), fc.string({ maxLength: 20 })), range: fc.constantFrom('bytes=0-1', 'bytes=-5', 'bytes=9-1', 'bytes=x') },
    { requiredKeys: [] },
  );

  const fuzzRoutes = async (session: WebSession, relogin: boolean) => {
    const all = routes(site.server);
    expect(all.length).toBeGreaterThan(15);
    const request = fc.record({
      route: fc.constantFrom(...all),
      params: fc.array(segment, { minLength: 4, maxLength: 4 }),
      query: fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.constantFrom(...known), hostileStrings), { maxKeys: 3 }),
      form,
      headers,
      csrf: fc.boolean(),
      raw: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(request, async ({ route, params, query, form, headers, csrf, raw }) => {
        let i = 0;
        const path = route.path.replace(/:\w+/g, () => params[i++]!);
        const qs = new URLSearchParams(query as Record<string, string>).toString();
        const url = `${path}${qs ? `?${qs}` : ''}`;
        lastCase = `${route.method} ${url.slice(0, 80)}`;
        const t0 = Date.now();
        let reply;
        if (route.method === 'GET' || route.method === 'HEAD' || route.method === 'DELETE') {
          reply = await session.request(url, { method: route.method, headers: { ...(headers.range ? { range: headers.range } : {}), ...(csrf ? { 'x-csrftoken': session.cookies.get('csrftoken') ?? '' } : {}) } });
        } else {
          const body = raw ? Buffer.from(raw) : new URLSearchParams({ ...(csrf ? { csrfmiddlewaretoken: session.cookies.get('csrftoken') ?? '' } : {}), ...form }).toString();
          reply = await session.request(url, { method: route.method, body, headers: { ...headers, ...(csrf ? { 'x-csrftoken': session.cookies.get('csrftoken') ?? '' } : {}) } });
        }
        expect(Date.now() - t0).toBeLessThan(ANSWER_MS);
        expect([route.method, url, reply.status]).not.toEqual([route.method, url, 500]);
        expect(reply.status).toBeLessThan(500 + (reply.status === 503 ? 100 : 0));
        if (relogin && (path.startsWith('/logout') || path.startsWith('/login'))) await session.login('fuzzer', 'fuzzer-password');
      }),
      { seed: SEED, numRuns: 150, endOnFailure: true },
    );
    expect(errors).not.toHaveBeenCalled();
  };

  it('answers every route anonymously without an unexpected failure, in bounded time', async () => {
    const anonymous = new WebSession(site.url);
    await anonymous.get('/');
    await fuzzRoutes(anonymous, false);
  });

  it('answers every route logged in without an unexpected failure, in bounded time', async () => {
    const user = new WebSession(site.url);
    expect((await user.login('fuzzer', 'fuzzer-password')).status).toBe(302);
    await fuzzRoutes(user, true);
  });

  it('kept /health answering throughout', async () => {
    const { worstMs, failures, polls } = await health.stop();
    loopDelay.disable();
    console.log(`fuzz: /health polled ${polls} times, worst ${worstMs} ms; event loop delay max ${(loopDelay.max / 1e6).toFixed(0)} ms, p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms; slow polls at ${slow.join(', ')}`);
    expect(polls).toBeGreaterThan(20);
    expect(failures).toBe(0);
    expect(worstMs).toBeLessThan(1500);
    expect(loopDelay.max / 1e6).toBeLessThan(1000);
  });
});

/** A route given as a regular expression, as a path with a parameter per capture group (`^\/a\/([^/]+)\.json$` → `/a/:p.json`). */
function regexRoute(re: RegExp): string {
  return re.source.replace(/^\^|\$$/g, '').replace(/\((?:[^()\\]|\\.)*\)/g, ':p').replace(/\\(.)/g, '$1');
}
