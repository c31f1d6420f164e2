// ops/manage archive-sim [--once | --loop] [--interval MS] [--fail] [--deliveries DIR]
// Plays the archive pipeline's part of the delivery protocol (crds-protocol.md §6) for tests
// and the demo: each delivery catalog in the delivery folder is renamed <cat>_SUBMIT, then
// <cat>_PROC, then deleted with its delivered files (archived); with --fail it ends as
// <cat>_ERROR instead. One step per catalog per pass, so a watcher sees every state.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { config } from '../../config';

const USAGE = 'usage: ops/manage archive-sim [--once | --loop] [--interval MS] [--fail] [--deliveries DIR]\n';

/** One pass: moves every catalog of the folder one state on. Returns what it did. */
export function archiveStep(deliveries: string, options: { fail?: boolean } = {}): string[] {
  const done: string[] = [];
  if (!fs.existsSync(deliveries)) return done;
  for (const entry of fs.readdirSync(deliveries).sort()) {
    const from = path.join(deliveries, entry);
    const m = /^(.+\.cat)(_SUBMIT|_PROC)?$/.exec(entry);
    if (!m) continue;
    const [, catalog, suffix] = m;
    if (!suffix) {
      fs.renameSync(from, path.join(deliveries, `${catalog}_SUBMIT`));
      done.push(`${catalog}: submitted`);
    } else if (suffix === '_SUBMIT') {
      fs.renameSync(from, path.join(deliveries, `${catalog}${options.fail ? '_ERROR' : '_PROC'}`));
      done.push(`${catalog}: ${options.fail ? 'archiving-failed' : 'archiving'}`);
    } else {
      // Archived: the archive has taken the files; the catalog and its links go.
      const names = fs.readFileSync(from, 'utf8').split('\n').map((l) => l.trim().split(/\s+/)[0]).filter(Boolean);
      for (const n of names) if (!n.includes('/')) fs.rmSync(path.join(deliveries, n), { force: true });
      fs.rmSync(from);
      done.push(`${catalog}: archived`);
    }
  }
  return done;
}

export default async function archiveSim(args: string[]): Promise<number> {
  let loop = false;
  let interval = 2000;
  let fail = false;
  let deliveries: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--once') loop = false;
    else if (arg === '--loop') loop = true;
    else if (arg === '--fail') fail = true;
    else if (arg === '--interval') interval = Number(args[++i]);
    else if (arg === '--deliveries') deliveries = args[++i];
    else if (arg === '-h' || arg === '--help') {
      process.stdout.write(USAGE);
      return 0;
    } else {
      process.stderr.write(`ops/manage archive-sim: unknown argument '${arg}'\n${USAGE}`);
      return 2;
    }
  }
  if (!Number.isFinite(interval) || interval < 10) {
    process.stderr.write(`ops/manage archive-sim: --interval needs milliseconds (at least 10)\n${USAGE}`);
    return 2;
  }
  const folder = deliveries ?? path.join(config().serverFiles, 'deliveries');
  for (;;) {
    for (const line of archiveStep(folder, { fail })) process.stdout.write(`${line}\n`);
    if (!loop) return 0;
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}
