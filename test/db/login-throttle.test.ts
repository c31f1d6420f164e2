// The login limiters' counts in the database (web/hardening.ts), on both dialects: every hit
// counted once when many arrive at once (as from several web processes), a new window after
// the old one ends, and decrement/reset as express-rate-limit uses them.
import type { Options } from 'express-rate-limit';
import { DatabaseThrottleStore } from '../../db/login-throttle';
import { describeOnBothDialects } from '../support/databases';

describeOnBothDialects('login throttle counts on %s', 'throttle', (open) => {
  const store = (windowMs: number, prefix = 'address:') => {
    const s = new DatabaseThrottleStore(open.db, prefix);
    s.init({ windowMs } as Options);
    return s;
  };

  it('counts every one of many simultaneous hits, from two stores of the same limiter', async () => {
    const [a, b] = [store(60_000), store(60_000)];
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).increment('198.51.100.7')));
    expect(replies.map((r) => r.totalHits).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect((await a.get('198.51.100.7'))?.totalHits).toBe(20);
    // Another prefix (the account limiter) is another count.
    expect((await store(60_000, 'login:').increment('198.51.100.7')).totalHits).toBe(1);
  });

  it('starts a new window once the old one ended, and decrements and resets a key', async () => {
    const s = store(300);
    expect((await s.increment('alice')).totalHits).toBe(1);
    expect((await s.increment('alice')).totalHits).toBe(2);
    await s.decrement('alice');
    expect((await s.get('alice'))?.totalHits).toBe(1);
    await new Promise((r) => setTimeout(r, 400));
    expect(await s.get('alice')).toBeUndefined();
    const again = await s.increment('alice');
    expect(again.totalHits).toBe(1);
    expect(again.resetTime!.getTime()).toBeGreaterThan(Date.now());
    await s.resetKey('alice');
    expect(await s.get('alice')).toBeUndefined();
  });
});
