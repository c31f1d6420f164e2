// Dispatches `ops/manage COMMAND ARGS...` to ops/commands/COMMAND.ts, whose default export
// is `(args: string[]) => Promise<number>` (the exit status). One file per command keeps
// commands independent; the list is the folder.
import * as fs from 'node:fs';
import * as path from 'node:path';

export type Command = (args: string[]) => Promise<number>;

const commandsDir = path.join(__dirname, 'commands');

function commandNames(): string[] {
  return fs
    .readdirSync(commandsDir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const names = commandNames();
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(`usage: ops/manage COMMAND [ARGS...]\ncommands: ${names.join(', ')}\n`);
    return name ? 0 : 2;
  }
  if (!names.includes(name)) {
    process.stderr.write(`ops/manage: unknown command '${name}'; commands: ${names.join(', ')}\n`);
    return 2;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(path.join(commandsDir, name)) as { default: Command };
  return mod.default(args);
}

// exitCode, not exit(): exit() would cut off output still being written to a pipe.
main(process.argv.slice(2)).then(
  (status) => (process.exitCode = status),
  (err: unknown) => {
    process.stderr.write(`ops/manage: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
