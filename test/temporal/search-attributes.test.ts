// Issue 13 item 14: a site whose Temporal server knows none of the project's search attributes
// (a compose site: temporalio/auto-setup) gets them registered at worker start-up,
// idempotently; and a shared site's worker refuses to start without its certify specs.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { ensureSearchAttributes, SEARCH_ATTRIBUTES } from '../../workers/search-attributes';
import { CRDS_INSTRUMENT, CRDS_OBSERVATORY, CRDS_SUBMITTER } from '../../web/submissions';
import { REPO_ROOT } from '../support/paths';
import { freePorts } from '../support/ports';
import { startProcess } from '../support/processes';
import { uniqueName } from '../support/services';

jest.setTimeout(120_000);

let bare: ChildProcess;
let connection: Connection;
const state = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-bare-temporal-'));

beforeAll(async () => {
  // A dev server started without ops/search-attributes' flags, as a production server is.
  const cli = execFileSync('bash', ['-c', 'source ops/lib.sh && temporal_cli'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  const [port, http, metrics] = await freePorts(3);
  bare = spawn(cli, ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port), '--http-port', String(http), '--metrics-port', String(metrics), '--log-level', 'error'], {
    stdio: ['ignore', fs.openSync(path.join(state, 'log'), 'w'), fs.openSync(path.join(state, 'log'), 'a')],
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      connection = await Connection.connect({ address: `127.0.0.1:${port}`, connectTimeout: 1000 });
      await connection.workflowService.getSystemInfo({});
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
});
afterAll(async () => {
  await connection?.close();
  bare?.kill('SIGTERM');
  await new Promise((r) => bare?.once('exit', r));
  fs.rmSync(state, { recursive: true, force: true });
});

it('registers the search attributes submissions set, once, so a submission can start', async () => {
  const custom = async () => (await connection.operatorService.listSearchAttributes({ namespace: 'default' })).customAttributes ?? {};
  for (const name of Object.keys(SEARCH_ATTRIBUTES)) expect(await custom()).not.toHaveProperty(name);
  const client = new Client({ connection });
  const start = (workflowId: string) =>
    client.workflow.start('noSuchWorkflow', {
      taskQueue: uniqueName('nobody'),
      workflowId,
      typedSearchAttributes: [
        { key: CRDS_SUBMITTER, value: 'alice' },
        { key: CRDS_INSTRUMENT, value: 'acs' },
        { key: CRDS_OBSERVATORY, value: 'hst' },
      ],
    });
  // Today's failure on such a server: every submission start is refused.
  const refused = await start(uniqueName('before')).then(
    () => undefined,
    (err: Error) => `${err.message}: ${String((err.cause as Error | undefined)?.message ?? '')}`,
  );
  expect(refused).toMatch(/search attribute|CrdsSubmitter/i);

  expect(await ensureSearchAttributes(connection, 'default')).toEqual({ CrdsSubmitter: 'added', CrdsInstrument: 'added', CrdsObservatory: 'added', CrdsOldContext: 'added', CrdsNewContext: 'added' });
  expect(await ensureSearchAttributes(connection, 'default')).toEqual({ CrdsSubmitter: 'present', CrdsInstrument: 'present', CrdsObservatory: 'present', CrdsOldContext: 'present', CrdsNewContext: 'present' });
  // The server's namespace cache may take a moment to see them.
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const handle = await start(uniqueName('after'));
      await handle.terminate('test');
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
});

it('names the same attributes as the submission start and ops/search-attributes (the dev server flags)', () => {
  const names = Object.keys(SEARCH_ATTRIBUTES).sort();
  // The submission start's attributes, and the two contexts of affected-datasets runs.
  expect([CRDS_SUBMITTER.name, CRDS_INSTRUMENT.name, CRDS_OBSERVATORY.name, 'CrdsNewContext', 'CrdsOldContext'].sort()).toEqual(names);
  const flags = execFileSync(path.join(REPO_ROOT, 'ops', 'search-attributes'), { encoding: 'utf8' });
  expect([...flags.matchAll(/--search-attribute (\w+)=Keyword/g)].map((m) => m[1]).sort()).toEqual(names);
});

it('refuses to start a shared site’s worker without CRDS_SPECS_DIR, or with one lacking the observatory’s specs, before connecting anywhere', async () => {
  const env = { CRDS_USECASE: 'ops', CRDS_OBSERVATORY: 'hst', CRDS_DATABASE_URL: 'mysql://crds:x@127.0.0.1:1/crds', TEMPORAL_ADDRESS: '127.0.0.1:1', CRDS_SPECS_DIR: '' };
  const missing = await startProcess('workers/main.ts', env);
  expect(await missing.exited).toBe(1);
  expect(missing.output()).toContain('CRDS_SPECS_DIR is missing');
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-no-specs-'));
  const wrong = await startProcess('workers/main.ts', { ...env, CRDS_SPECS_DIR: empty });
  expect(await wrong.exited).toBe(1);
  expect(wrong.output()).toContain('has no hst/specs folder');
  fs.rmSync(empty, { recursive: true, force: true });
});
