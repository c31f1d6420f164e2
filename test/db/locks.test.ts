// Instrument locks and the lock-clearing query, on real MariaDB and SQLite.
import { acquireLock, clearExpiredLocks, LockedError, releaseLocks } from '../../db/locks';
import { describeOnBothDialects } from '../support/databases';

const HOUR = 3600_000;

describeOnBothDialects('locks on %s', 'locks', (open) => {
  beforeEach(async () => {
    await open.db.models.InstrumentLock.destroy({ where: {} });
    await open.db.models.AuditRecord.destroy({ where: {} });
  });

  it('clears only the expired locks, auditing each once', async () => {
    const now = new Date('2026-11-28T12:00:00Z');
    const at = (offsetMs: number) => new Date(now.getTime() + offsetMs);
    await acquireLock(open.db, { name: 'acs', username: 'alice', now: at(-5 * HOUR) }); // expired an hour ago
    await acquireLock(open.db, { name: 'cos', username: 'bob', now: at(-4 * HOUR) }); // expires exactly now
    await acquireLock(open.db, { name: 'stis', username: 'carol', now: at(-3 * HOUR) }); // an hour left
    await acquireLock(open.db, { type: 'context', name: 'all', username: 'dave', now: at(-1000) });

    const cleared = await clearExpiredLocks(open.db, now);
    expect(cleared.map((l) => `${l.type}:${l.name}:${l.username}`).sort()).toEqual(['instrument:acs:alice', 'instrument:cos:bob']);
    const left = await open.db.models.InstrumentLock.findAll({ order: [['name', 'ASC']] });
    expect(left.map((l) => l.name)).toEqual(['all', 'stis']);
    const audit = await open.db.models.AuditRecord.findAll({ order: [['instrument', 'ASC']] });
    expect(audit.map((a) => [a.action, a.instrument, a.details.username])).toEqual([
      ['clear expired lock', 'acs', 'alice'],
      ['clear expired lock', 'cos', 'bob'],
    ]);
    // Idempotent: a second run (a retried activity) finds nothing more.
    expect(await clearExpiredLocks(open.db, now)).toEqual([]);
    expect(await open.db.models.AuditRecord.count()).toBe(2);
  });

  it('keeps a held lock from another user, renews the holder, and lets an expired one be taken', async () => {
    const now = new Date();
    await acquireLock(open.db, { name: 'WFC3', username: 'alice', now });
    await expect(acquireLock(open.db, { name: 'wfc3', username: 'bob', now })).rejects.toThrow(LockedError);
    await expect(acquireLock(open.db, { name: 'wfc3', username: 'bob', now })).rejects.toThrow(
      "User 'alice' has already locked instrument 'wfc3'.",
    );
    const renewed = await acquireLock(open.db, { name: 'wfc3', username: 'alice', now: new Date(now.getTime() + HOUR) });
    expect(renewed.expiresAt.getTime()).toBe(now.getTime() + 5 * HOUR);
    const later = new Date(now.getTime() + 6 * HOUR);
    const taken = await acquireLock(open.db, { name: 'wfc3', username: 'bob', now: later });
    expect(taken.username).toBe('bob');
    expect(await releaseLocks(open.db, 'bob')).toBe(1);
    expect(await open.db.models.InstrumentLock.count()).toBe(0);
  });
});
