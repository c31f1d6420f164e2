// ops/shell and ops/dbshell as an operator uses them, statements piped in, on both dialects:
// the embedded site's SQLite file and a MariaDB site.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../support/paths';
import { freshMysqlDatabase, temporalAddress, type TestDatabase } from '../support/services';

jest.setTimeout(180_000);

function ops(cmd: string, env: NodeJS.ProcessEnv, input: string, args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(path.join(REPO_ROOT, 'ops', cmd), args, { env: { ...process.env, ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(input);
  });
}

const varDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-shell-'));
let mysql: TestDatabase;
afterAll(async () => {
  await mysql?.drop();
  fs.rmSync(varDir, { recursive: true, force: true });
});

describe.each([['sqlite'], ['mysql']])('on %s', (dialect) => {
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    env = { CRDS_VAR_DIR: path.join(varDir, dialect), CRDS_DATABASE_URL: '', TEMPORAL_ADDRESS: temporalAddress() };
    if (dialect === 'mysql') {
      mysql = await freshMysqlDatabase('shell');
      env = { ...env, CRDS_USECASE: 'test', CRDS_DATABASE_URL: mysql.url };
    }
    const init = await ops('manage', env, '', ['init']);
    expect(init.code).toBe(0);
  });

  it('ops/shell has the configuration, the models and a Temporal client; results come in order, an error does not stop it', async () => {
    const r = await ops('shell', env, [
      'config.observatory',
      'await models.CatalogFile.count({ where: { type: "mapping" } })',
      'nosuchname',
      'const c = await client()',
      '(await c.workflowService.getSystemInfo({})).serverVersion.length > 0',
      'db.dialect',
    ].join('\n'));
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(["'hst'", '10', 'Uncaught ReferenceError: nosuchname is not defined', 'true', `'${dialect}'`]);
  });

  it('ops/dbshell runs the database\'s own client on the configured database', async () => {
    const r = await ops('dbshell', env, "SELECT name FROM catalog_files WHERE name LIKE '%.pmap' ORDER BY name;\n");
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').filter((l) => l.endsWith('.pmap'))).toEqual(['hst_0001.pmap', 'hst_0002.pmap']);
    // The MariaDB password is not on the client's command line.
    if (dialect === 'mysql') expect(fs.readFileSync(path.join(REPO_ROOT, 'ops', 'dbshell'), 'utf8')).toMatch(/MYSQL_PWD=/);
  });
});
