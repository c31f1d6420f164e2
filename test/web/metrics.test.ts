// /metrics (prom-client): JSON-RPC calls per method and outcome, pages per route pattern (not
// the raw path), download bytes; a token when CRDS_METRICS_TOKEN is set.
import { DEMO_CACHE, startSite, type Site } from '../jsonrpc/site';

jest.setTimeout(60_000);

let site: Site;
beforeAll(async () => {
  site = await startSite({ observatory: 'hst', source: DEMO_CACHE, dialect: 'sqlite' });
});
afterAll(async () => {
  await site?.close();
});

const sample = (text: string, name: string, labels: Record<string, string>): number | undefined => {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(name + '{') && want.every((w) => l.includes(w)));
  return line === undefined ? undefined : Number(line.split(' ').pop());
};

it('counts JSON-RPC calls by method and outcome, pages by route pattern, and download bytes', async () => {
  for (let i = 0; i < 3; i++) await site.rpc('get_default_context', 'hst');
  await site.rpcEnvelope('get_file_info', ['hst', 'no-such-file.fits']);
  await site.rpcEnvelope('no_such_method_' + 'x'.repeat(50), []);
  const file = (await site.rpc<string[]>('list_mappings', 'hst', '*.pmap'))[0]!;
  const body = await (await fetch(`${site.url}/unchecked_get/mappings/hst/${file}`)).arrayBuffer();
  await fetch(`${site.url}/unchecked_get/mappings/hst/nothing-${Date.now()}.rmap`);
  const text = await (await fetch(`${site.url}/metrics`)).text();
  expect(sample(text, 'crds_jsonrpc_requests_total', { method: 'get_default_context', outcome: 'ok' })).toBe(3);
  expect(sample(text, 'crds_jsonrpc_requests_total', { method: 'get_file_info', outcome: 'UnknownFile' })).toBe(1);
  expect(sample(text, 'crds_jsonrpc_requests_total', { method: 'unknown', outcome: 'MethodNotFoundError' })).toBe(1);
  expect(sample(text, 'crds_jsonrpc_duration_seconds_count', { method: 'get_default_context' })).toBe(3);
  expect(sample(text, 'crds_http_request_duration_seconds_count', { route: '/unchecked_get/:kind/:observatory/:name', status: '200' })).toBe(1);
  expect(sample(text, 'crds_http_request_duration_seconds_count', { route: '/unchecked_get/:kind/:observatory/:name', status: '404' })).toBe(1);
  expect(text).not.toContain(file); // route patterns only
  expect(text).toMatch(/^crds_download_bytes_total (\d+)$/m);
  expect(Number(/^crds_download_bytes_total (\d+)$/m.exec(text)![1])).toBe(body.byteLength);
  expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
});
