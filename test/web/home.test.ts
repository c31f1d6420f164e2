// The web over HTTP: home page and /health reporting real connectivity to real MariaDB and
// the real Temporal dev server, and reporting it down when Temporal is unreachable.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../config';
import { openDatabase, type Database } from '../../db';
import { createWebServer } from '../../web/app';
import { TemporalLink } from '../../web/temporal';
import { freshMysqlDatabase, temporalAddress, type TestDatabase } from '../support/services';
import { startProcess } from '../support/processes';
import { createUser } from '../../db/accounts';
import { WebSession } from './web-session';

/** The details of /health and the home page are for superusers (anonymous callers see the status). */
async function superuser(base: string): Promise<WebSession> {
  const web = new WebSession(base);
  expect((await web.login('root', 'root-password')).status).toBe(302);
  return web;
}

let target: TestDatabase;
let db: Database;
const servers: { server: Server; temporal: TemporalLink }[] = [];

async function serve(address: string): Promise<string> {
  const config = loadConfig({ CRDS_OBSERVATORY: 'jwst', CRDS_USECASE: 'test', CRDS_DATABASE_URL: target.url, TEMPORAL_ADDRESS: address });
  const temporal = new TemporalLink(config.temporal.address, config.temporal.namespace);
  const server = createWebServer({ config, db, temporal }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  servers.push({ server, temporal });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  target = await freshMysqlDatabase('web');
  db = await openDatabase(target.url);
  await createUser(db, { username: 'root', password: 'root-password', isSuperuser: true });
});
afterAll(async () => {
  for (const { server, temporal } of servers) {
    server.close();
    await temporal.close();
  }
  await db.close();
  await target.drop();
});

it('reports the site, the database and Temporal up on /health', async () => {
  const base = await serve(temporalAddress());
  const res = await (await superuser(base)).get('/health');
  expect(res.status).toBe(200);
  expect(res.json()).toMatchObject({
    status: 'ok',
    observatory: 'jwst',
    usecase: 'test',
    database: { ok: true, dialect: 'mysql', url: expect.stringContaining(':***@') },
    temporal: { ok: true, address: temporalAddress(), namespace: 'default', taskQueue: 'crds-jwst' },
  });
});

it('shows observatory, use, connectivity and a Temporal UI link on the home page', async () => {
  const base = await serve(temporalAddress());
  const res = await fetch(`${base}/`);
  expect(res.status).toBe(200);
  const html = await res.text();
  expect(html).toContain('CRDS JWST');
  expect(html).toContain('(test)');
  expect(html).toMatch(/id="database-status">up</);
  expect(html).toMatch(/id="temporal-status">up</);
  expect(html).toContain('href="http://localhost:8233/namespaces/default/schedules"');
});

it('reports Temporal down, with the reason, when it is unreachable', async () => {
  const base = await serve('127.0.0.1:1');
  const root = await superuser(base);
  const res = await root.get('/health');
  expect(res.status).toBe(503);
  const body = res.json() as { status: string; database: { ok: boolean }; temporal: { ok: boolean; error: string } };
  expect(body.status).toBe('degraded');
  expect(body.database.ok).toBe(true);
  expect(body.temporal.ok).toBe(false);
  expect(body.temporal.error).toBeTruthy();
  const html = (await root.get('/')).text;
  expect(html).toMatch(/id="temporal-status">down</);
  expect(html).toContain('class="error"');
});

it('answers an unknown page with a 404 page', async () => {
  const base = await serve(temporalAddress());
  const res = await fetch(`${base}/no/such/page`);
  expect(res.status).toBe(404);
  expect(await res.text()).toContain('No page at /no/such/page');
});

it('refuses to start with a malformed configuration, naming the variable', async () => {
  const web = await startProcess('web/server.ts', { PORT: 'eighty', CRDS_DATABASE_URL: target.url });
  expect(await web.exited).toBe(1);
  expect(web.output()).toContain('PORT="eighty" is not valid: expected a port number from 1 to 65535');
});
