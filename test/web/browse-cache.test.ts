// What the browsing pages keep per catalog generation (web/browse/page-cache.ts, the facet
// counts of db/browse.ts), on both dialects: kept until a writer bumps the generation, shared
// by concurrent requests, bounded, and equal to what the database answers without them.
import { Op } from 'sequelize';
import { facetCounts, filterWhere, type FileFilters } from '../../db/browse';
import { bumpGeneration } from '../../db/catalog';
import { GenerationCache } from '../../web/browse/page-cache';
import { describeOnBothDialects } from '../support/databases';

const INSTRUMENTS = ['acs', 'cos', 'stis', 'wfc3'];
const KINDS = ['biasfile', 'darkfile', 'pfltfile'];
const STATES = ['archived', 'delivered', 'uploaded', 'archiving-failed'];

describeOnBothDialects('browse caches on %s', 'browse_cache', (open) => {
  beforeAll(async () => {
    const day = Date.UTC(2020, 0, 1);
    await open.db.models.CatalogFile.bulkCreate(
      Array.from({ length: 600 }, (_, i) => ({
        name: `c${String(i).padStart(4, '0')}_${KINDS[i % 3].slice(0, 3)}.fits`,
        state: STATES[(i * 7) % 4],
        rejected: i % 37 === 0,
        blacklisted: i % 53 === 0,
        observatory: 'hst',
        instrument: INSTRUMENTS[(i * 5) % 4],
        filekind: KINDS[i % 3],
        type: i % 11 === 0 ? 'mapping' : 'reference',
        delivererUser: i % 2 ? 'alice' : 'bob',
        size: i,
        deliveryDate: new Date(day + i * 3_600_000),
        activationDate: new Date(day),
        useafterDate: new Date(day - i * 3_600_000),
        description: i % 3 ? 'dark frame' : 'bias',
      })),
    );
    await bumpGeneration(open.db);
  });

  it('answers facet counts from the whole catalog scan exactly as the filtered scan would', async () => {
    const { CatalogFile } = open.db.models;
    const filters: FileFilters[] = [
      {},
      { bad: 'bad' },
      { bad: 'ok', state: 'delivered' },
      { instrument: 'cos', filekind: 'darkfile' },
      { kind: 'mapping' },
      { state: 'archiving-failed', instrument: 'acs' },
      { instrument: 'nicmos' },
      { submitter: 'alice', bad: 'bad' }, // not a facet column: its own scan
      { description: 'dark' },
    ];
    for (const f of filters) {
      const counts = await facetCounts(open.db, f);
      const where = filterWhere(open.db, f);
      expect([f, counts.total]).toEqual([f, await CatalogFile.count({ where })]);
      // Per instrument, in the order the database groups them (the page lists them so).
      const rows = (await CatalogFile.findAll({ attributes: ['instrument'], where, group: ['instrument'], raw: true })) as { instrument: string }[];
      const byInstrument: [string, number][] = [];
      for (const r of rows) byInstrument.push([r.instrument, await CatalogFile.count({ where: { [Op.and]: [where, { instrument: r.instrument }] } })]);
      expect([f, Object.entries(counts.instrument)]).toEqual([f, byInstrument]);
      const bad = await CatalogFile.count({ where: { [Op.and]: [where, { [Op.or]: [{ rejected: true }, { blacklisted: true }] }] } });
      expect([f, counts.bad.bad ?? 0, counts.bad.ok ?? 0]).toEqual([f, bad, counts.total - bad]);
    }
  });

  it('keeps an answer until the generation changes, shares a computation, forgets failures and stays in its budget', async () => {
    const cache = new GenerationCache<string>(open.db, 3);
    let computed = 0;
    const compute = (v: string) => async () => {
      computed++;
      await new Promise((r) => setTimeout(r, 20));
      return v;
    };
    expect(await Promise.all([cache.get('a', compute('A')), cache.get('a', compute('other'))])).toEqual(['A', 'A']);
    expect(computed).toBe(1);
    expect(await cache.get('a', compute('B'))).toBe('A');
    await bumpGeneration(open.db);
    expect(await cache.get('a', compute('B'))).toBe('B');
    expect(computed).toBe(2);

    await expect(cache.get('x', () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(await cache.get('x', compute('X'))).toBe('X');

    // budget 3 (weight 1 each): the least recently used goes first
    await cache.get('c', compute('C'));
    await cache.get('a', compute('unused')); // a is now the most recent
    await cache.get('d', compute('D'));
    const before = computed;
    expect(await cache.get('a', compute('unused'))).toBe('B');
    expect(await cache.get('x', compute('X2'))).toBe('X2'); // evicted
    expect(computed).toBe(before + 1);
  });
});
