// `ops/manage set-group NAME --instruments a,b|* [--members u1,u2]`: creates or updates a
// submission group (the instruments its members may submit for) and adds members.
import { parseArgs } from 'node:util';
import { config } from '../../config';
import { openDatabase } from '../../db';
import { AccountError, setGroup } from '../../db/accounts';

const USAGE = 'usage: ops/manage set-group NAME --instruments a,b|* [--members u1,u2]';
const list = (v: string | undefined) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);

export default async function (args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { instruments: { type: 'string' }, members: { type: 'string' } } });
  } catch (err) {
    process.stderr.write(`set-group: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (parsed.positionals.length !== 1 || !parsed.values.instruments) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const db = await openDatabase(config().databaseUrl);
  try {
    const group = await setGroup(db, parsed.positionals[0]!, list(parsed.values.instruments), list(parsed.values.members));
    process.stdout.write(`group '${group.name}' submits for ${group.instruments.join(', ')}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof AccountError)) throw err;
    process.stderr.write(`set-group: ${err.message}\n`);
    return 1;
  } finally {
    await db.close();
  }
}
