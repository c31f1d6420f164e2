// The nightly's dev/test rebuild runs the real ops/install and ops/runtests without blocking
// the worker's event loop (the suite takes many minutes), keeps their output in a log, and does
// not restart the site when the tests fail. (The passing path ends in `ops/rerun`, which
// restarts the site it runs in: it is exercised by the nightly on dev and test sites.)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../config';
import { rebuild } from '../../activities/nightly';

jest.setTimeout(180_000);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-rebuild-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const site = (env: Record<string, string>) =>
  loadConfig({
    CRDS_USECASE: 'test',
    TEMPORAL_ADDRESS: '127.0.0.1:1',
    CRDS_DATABASE_URL: `sqlite:${path.join(work, 'crds.sqlite')}`,
    CRDS_SERVER_FILES: path.join(work, 'server_files'),
    CRDS_FILE_CACHE: path.join(work, 'file_cache'),
    ...env,
  });

it('is skipped on a site without CRDS_NIGHTLY_REBUILD=1', async () => {
  expect(await rebuild(site({}), 'off')).toEqual({ tests: expect.stringMatching(/^not run/), restarted: false });
});

it('runs install and the tests without blocking the event loop, logs them, and does not restart on failure', async () => {
  const config = site({ CRDS_NIGHTLY_REBUILD: '1', CRDS_NIGHTLY_REBUILD_TESTS: '--no-typecheck test/no-such-test-folder' });
  let last = Date.now();
  let longestStall = 0;
  const tick = setInterval(() => {
    longestStall = Math.max(longestStall, Date.now() - last);
    last = Date.now();
  }, 50);
  try {
    await expect(rebuild(config, '2026-12-03T03-05-00Z')).rejects.toThrow(/ops\/runtests failed, the site is not restarted/);
  } finally {
    clearInterval(tick);
  }
  expect(longestStall).toBeLessThan(2_000);
  const log = fs.readFileSync(path.join(config.serverFiles, 'ops', 'nightly', 'rebuild-2026-12-03T03-05-00Z.log'), 'utf8');
  expect(log).toContain('$ ops/install');
  expect(log).toContain('$ ops/runtests --no-typecheck test/no-such-test-folder');
  expect(log).not.toContain('$ ops/rerun');
});
