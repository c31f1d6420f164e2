// ops/supervise, which ops/run starts the web and the worker under: a process that crashes is
// logged and started again; TERM to the group ends the watch and the process, nothing left.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { REPO_ROOT } from '../support/paths';

jest.setTimeout(30_000);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it('restarts a crashing process with a log line per crash, and stops it with the group on TERM', async () => {
  // The child crashes with an uncaught exception 200 ms after each start, printing its pid.
  const script = 'console.log("started " + process.pid); setTimeout(() => { throw new Error("crash") }, 200)';
  const sup = spawn(path.join(REPO_ROOT, 'ops', 'supervise'), ['demo', process.execPath, '-e', script], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  sup.stdout.on('data', (d: Buffer) => (out += d));
  sup.stderr.on('data', (d: Buffer) => (out += d));
  const exited = new Promise<number | null>((resolve) => sup.on('exit', (code) => resolve(code)));
  await new Promise((r) => setTimeout(r, 4000));
  const starts = [...out.matchAll(/^started (\d+)$/gm)].map((m) => Number(m[1]));
  expect(starts.length).toBeGreaterThanOrEqual(2);
  expect(out).toMatch(/supervise: \S+ demo: exited with status 1; restarting in 1 s/);
  expect(out).toMatch(/Error: crash/);
  process.kill(-sup.pid!, 'SIGTERM');
  expect(await exited).toBe(0);
  await new Promise((r) => setTimeout(r, 300));
  for (const pid of starts) expect(alive(pid)).toBe(false);
});
