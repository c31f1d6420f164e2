// No Docker engine or compose plugin runs here, so the compose file is checked by what it
// must say: the production topology, wired to the variables the server actually reads.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../config';
import { REPO_ROOT } from '../support/paths';

type Service = {
  environment?: Record<string, string>;
  depends_on?: unknown;
  volumes?: string[];
  command?: string[];
  build?: { dockerfile: string };
  ports?: string[];
  networks?: string[];
};
const compose = parse(fs.readFileSync(path.join(REPO_ROOT, 'docker', 'compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
  networks?: Record<string, { internal?: boolean } | null>;
};

/** Substitutes ${VAR:-default} / ${VAR:?message} as compose would, with VAR unset. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_m, name: string, op: string, arg: string) => vars[name] ?? (op === '-' ? arg : `<${name}>`));
}

it('describes MySQL, Temporal with its UI, the web and the worker', () => {
  expect(Object.keys(compose.services).sort()).toEqual(['mysql', 'temporal', 'temporal-ui', 'web', 'worker']);
  expect(compose.services.worker!.command).toEqual(['ops/serve', 'worker']);
  for (const app of ['web', 'worker']) {
    const dockerfile = compose.services[app]!.build!.dockerfile;
    expect(fs.existsSync(path.join(REPO_ROOT, dockerfile))).toBe(true);
    expect(compose.services[app]!.volumes!.slice(0, 2)).toEqual(['server-files:/srv/crds/server_files', 'file-cache:/srv/crds/cache']);
  }
  expect(Object.keys(compose.volumes).sort()).toEqual(['file-cache', 'mysql-data', 'server-files']);
});

it('gives the web and the worker an environment the server accepts', () => {
  for (const app of ['web', 'worker']) {
    const env = Object.fromEntries(
      Object.entries(compose.services[app]!.environment!).map(([k, v]) => [k, interpolate(String(v), { CRDS_DB_PASSWORD: 'pw', CRDS_SECRET_KEY: 'k'.repeat(64) })]),
    );
    const cfg = loadConfig(env);
    expect(cfg.usecase).toBe('ops');
    expect(cfg.databaseUrl).toBe('mysql://crds:pw@mysql:3306/crds');
    expect(cfg.temporal.address).toBe('temporal:7233');
    expect(cfg.secretKey).toBe('k'.repeat(64));
    expect(cfg.specsDir).toBe('/srv/crds/specs');
  }
  // The worker gets its certify specs from the host, read-only; none given, compose refuses to start.
  const specs = compose.services.worker!.volumes!.find((v) => v.endsWith(':/srv/crds/specs:ro'));
  expect(specs).toMatch(/^\$\{CRDS_SPECS:\?/);
});

it('keeps MySQL and the Temporal frontend on the internal network only, and Temporal UI on the host loopback (SSH tunnel)', () => {
  const networks = compose.networks ?? {};
  expect(networks.internal?.internal).toBe(true);
  for (const name of ['mysql', 'temporal']) {
    expect([name, compose.services[name]!.ports]).toEqual([name, undefined]);
    expect([name, compose.services[name]!.networks]).toEqual([name, ['internal']]);
  }
  for (const port of compose.services['temporal-ui']!.ports ?? []) expect(port).toMatch(/^127\.0\.0\.1:/);
  // Every published port on all addresses is the web's.
  const open = Object.entries(compose.services).flatMap(([name, svc]) => (svc.ports ?? []).filter((p) => !p.startsWith('127.0.0.1:')).map((p) => `${name} ${p}`));
  expect(open).toEqual(['web 8000:8000']);
  expect(fs.readFileSync(path.join(REPO_ROOT, 'docker', 'compose.yaml'), 'utf8')).toMatch(/ssh -N -L 8233:127\.0\.0\.1:8233/);
});

it('runs entry points that ops/build (run by the Dockerfile) produces', () => {
  const dockerfile = fs.readFileSync(path.join(REPO_ROOT, 'docker', 'Dockerfile'), 'utf8');
  expect(dockerfile).toMatch(/^RUN ops\/build$/m);
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]) as string[];
  const build = spawnSync(path.join(REPO_ROOT, 'ops', 'build'), { encoding: 'utf8' });
  expect(build.stderr).toBe('');
  expect(build.status).toBe(0);
  expect(cmd).toEqual(['ops/serve', 'web']);
  // What ops/serve runs for each exists once built.
  const serve = fs.readFileSync(path.join(REPO_ROOT, 'ops', 'serve'), 'utf8');
  for (const entry of ['build/web/server.js', 'build/workers/main.js']) {
    expect(serve).toContain(entry);
    expect(fs.existsSync(path.join(REPO_ROOT, entry))).toBe(true);
  }
  // The compiled web finds its views through the links ops/build makes.
  expect(fs.existsSync(path.join(REPO_ROOT, 'build', 'web', 'views', 'home.ejs'))).toBe(true);
});
