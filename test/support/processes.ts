// Starts the project's real processes (worker, web) as child processes, the way ops/run
// does, so tests can kill them with SIGKILL and start them again.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './paths';

export interface Started {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or the signal) once the process has ended. */
  exited: Promise<number | NodeJS.Signals>;
}

let built = false;

/** Runs ops/build once per process: before starting the compiled server with `ops/serve`. */
export function buildOnce(): void {
  if (built) return;
  const r = spawnSync(path.join(REPO_ROOT, 'ops', 'build'), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ops/build failed: ${r.stderr}`);
  built = true;
}

/**
 * A process and all its descendants (a cluster primary and its web processes), from the
 * kernel's children lists; a process gone meanwhile is left out.
 */
export function processTree(pid: number): number[] {
  let children: number[] = [];
  try {
    children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // gone, or no children listing on this kernel: the process alone
  }
  return [pid, ...children.flatMap(processTree)];
}

/**
 * Starts `script`: a TypeScript source through tsx ('web/server.ts'), or a command of ops/
 * with its arguments ('ops/serve web': the compiled server as ops/run runs it; buildOnce first).
 */
export function startProcess(script: string, env: Record<string, string>, ready?: RegExp, timeoutMs = 60_000): Promise<Started> {
  const [command, ...args] = script.startsWith('ops/') ? script.split(' ') : [process.execPath, '--import', 'tsx', path.join(REPO_ROOT, script)];
  const child = spawn(path.resolve(REPO_ROOT, command!), args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | NodeJS.Signals>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal!)));
  const started: Started = { child, output: () => out, exited };
  if (!ready) return Promise.resolve(started);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // never leave a half-started process behind to hold jest open
      reject(new Error(`${script} not ready after ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const check = () => {
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve(started);
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code}) before it was ready:\n${out}`));
    });
  });
}

/** Stops a started process (SIGTERM, then SIGKILL) and waits for it to end. */
export async function stopProcess(p: Started | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(signal);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
  await p.exited;
  clearTimeout(timer);
}
