// `ops/manage add-user NAME [--email E] [--superuser] [--password-stdin]`: creates an
// account; with --password-stdin the password is the first line of standard input (so it
// never shows in the process list or shell history).
import { parseArgs } from 'node:util';
import { config } from '../../config';
import { openDatabase } from '../../db';
import { AccountError, createUser } from '../../db/accounts';
import { readStdinLine } from '../stdin';

const USAGE = 'usage: ops/manage add-user NAME [--email E] [--superuser] [--password-stdin]';

export default async function (args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { email: { type: 'string' }, superuser: { type: 'boolean' }, 'password-stdin': { type: 'boolean' } },
    });
  } catch (err) {
    process.stderr.write(`add-user: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (parsed.positionals.length !== 1) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const { values } = parsed;
  const password = values['password-stdin'] ? await readStdinLine() : undefined;
  const db = await openDatabase(config().databaseUrl);
  try {
    const user = await createUser(db, { username: parsed.positionals[0]!, email: values.email, isSuperuser: values.superuser, password });
    process.stdout.write(`created user '${user.username}'${user.isSuperuser ? ' (superuser)' : ''}${password ? '' : ' without a password'}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof AccountError)) throw err;
    process.stderr.write(`add-user: ${err.message}\n`);
    return 1;
  } finally {
    await db.close();
  }
}
