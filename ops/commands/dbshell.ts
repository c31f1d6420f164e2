// `ops/manage dbshell [ARGS...]`: the database's own client on the configured database (ops/dbshell).
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

export default async function (args: string[]): Promise<number> {
  const r = spawnSync(path.join(__dirname, '..', 'dbshell'), args, { stdio: 'inherit' });
  return r.status ?? 1;
}
