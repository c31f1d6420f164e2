import { ConfigError, loadConfig, redact } from '../../config';

describe('site configuration', () => {
  it('gives the embedded local default with an empty environment', () => {
    const cfg = loadConfig({});
    expect(cfg.observatory).toBe('hst');
    expect(cfg.usecase).toBe('local');
    expect(cfg.databaseUrl).toMatch(/^sqlite:.*var\/crds\.sqlite$/);
    expect(cfg.temporal.address).toBe('localhost:7233');
    expect(cfg.temporal.taskQueue).toBe('crds-hst');
    expect(cfg.port).toBe(8000);
    expect(Object.isFrozen(cfg.temporal)).toBe(true);
  });

  it('reads every variable it documents', () => {
    const cfg = loadConfig({
      CRDS_OBSERVATORY: 'JWST',
      CRDS_USECASE: 'ops',
      CRDS_DATABASE_URL: 'mysql://crds:secret@db.example:3306/crds',
      TEMPORAL_ADDRESS: 'temporal:7233',
      TEMPORAL_NAMESPACE: 'crds',
      TEMPORAL_UI_URL: 'https://temporal.example/',
      CRDS_SERVER_FILES: '/srv/crds/files',
      CRDS_FILE_CACHE: '/srv/crds/cache',
      PORT: '8080',
    });
    expect(cfg).toMatchObject({
      observatory: 'jwst',
      usecase: 'ops',
      databaseUrl: 'mysql://crds:secret@db.example:3306/crds',
      temporal: { address: 'temporal:7233', namespace: 'crds', taskQueue: 'crds-jwst', uiUrl: 'https://temporal.example' },
      serverFiles: '/srv/crds/files',
      fileCache: '/srv/crds/cache',
      port: 8080,
    });
  });

  it.each([
    [{ CRDS_OBSERVATORY: 'hubble' }, /CRDS_OBSERVATORY="hubble" is not valid: expected one of hst, jwst/],
    [{ CRDS_USECASE: 'prod' }, /CRDS_USECASE="prod" is not valid/],
    [{ PORT: '80a' }, /PORT="80a" is not valid: expected a port number/],
    [{ PORT: '70000' }, /PORT="70000"/],
    [{ CRDS_DATABASE_URL: 'postgres://x/y' }, /CRDS_DATABASE_URL="postgres:\/\/x\/y" is not valid/],
    [{ CRDS_DATABASE_URL: 'mysql://user:pw@host' }, /must name a host and a database/],
    [{ TEMPORAL_ADDRESS: 'localhost' }, /TEMPORAL_ADDRESS="localhost" is not valid: expected host:port/],
    [{ TEMPORAL_UI_URL: 'ftp://x' }, /TEMPORAL_UI_URL="ftp:\/\/x" is not valid/],
  ])('rejects a malformed value %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('requires the database and Temporal of a shared (non-local) site', () => {
    expect(() => loadConfig({ CRDS_USECASE: 'ops' })).toThrow(/TEMPORAL_ADDRESS is missing: CRDS_USECASE=ops/);
    expect(() => loadConfig({ CRDS_USECASE: 'dev', TEMPORAL_ADDRESS: 't:7233' })).toThrow(/CRDS_DATABASE_URL is missing/);
  });

  it('never shows a database password in a message', () => {
    expect(redact('mysql://crds:s3cret@h:3306/db')).toBe('mysql://crds:***@h:3306/db');
    expect(() => loadConfig({ CRDS_DATABASE_URL: 'pg://crds:s3cret@h/db' })).not.toThrow(/s3cret/);
  });
});
