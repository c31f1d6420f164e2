// `ops/shell` (`ops/manage shell`): a Node REPL on the site (the original's `./manage shell`), with
//   config    the site's configuration (config/index.ts)
//   db        the open database (db/index.ts), and `models` its Sequelize models
//   temporal  the site's Temporal link; `await client()` is a connected Temporal client
//   sequelize the Op helpers of Sequelize, as `Op`
// loaded; top-level await works. Statements may also come on standard input (not a terminal):
// each result is printed, and the shell exits at the end of the input.
import * as repl from 'node:repl';
import { PassThrough, type Readable } from 'node:stream';
import { Op } from 'sequelize';
import { config } from '../../config';
import { openDatabase } from '../../db';
import { TemporalLink } from '../../web/temporal';

export default async function (args: string[]): Promise<number> {
  if (args.length > 0) {
    process.stderr.write('usage: ops/shell (statements on standard input, or interactive)\n');
    return 2;
  }
  const cfg = config();
  // No migration from a shell: it looks at the site as it is.
  const db = await openDatabase(cfg.databaseUrl, { migrate: false });
  const temporal = new TemporalLink(cfg.temporal.address, cfg.temporal.namespace);
  const interactive = process.stdin.isTTY === true;
  if (interactive) {
    process.stdout.write(`CRDS ${cfg.observatory} ${cfg.usecase} site: database ${db.description}, Temporal ${cfg.temporal.address}/${cfg.temporal.namespace}\n`);
    process.stdout.write('loaded: config, db, models, Op, temporal, client() (a Temporal client)\n');
  }
  // Piped statements are fed one at a time, the next once the REPL shows its prompt again
  // (after the previous one, awaited, answered or failed), so results come out in order.
  const lines = interactive ? [] : (await readAll(process.stdin)).split('\n').filter((l) => l.trim() !== '');
  const input = interactive ? process.stdin : new PassThrough();
  const shell = repl.start({ prompt: interactive ? 'crds> ' : '', input, output: process.stdout, terminal: interactive, useGlobal: false, ignoreUndefined: true });
  Object.assign(shell.context, { config: cfg, db, models: db.models, Op, temporal, client: () => temporal.client() });
  if (!interactive) {
    const feed = () => {
      const line = lines.shift();
      if (line === undefined) (input as PassThrough).end();
      else (input as PassThrough).write(`${line}\n`);
    };
    const displayPrompt = shell.displayPrompt.bind(shell);
    shell.displayPrompt = (preserveCursor?: boolean) => {
      displayPrompt(preserveCursor);
      setImmediate(feed);
    };
    feed();
  }
  await new Promise<void>((resolve) => shell.on('exit', resolve));
  await Promise.all([temporal.close(), db.close()]);
  return 0;
}

async function readAll(stream: Readable): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}
