// The browsing pages (issue #14) on the real HST catalog (every context of
// ../shared/data/crds-cache imported once into MariaDB for this file): JSON twins against the
// catalog, /uses/ against the rules engine's context closures, hostile input, refusals, and a
// real browser (chromium) walking as an instrument scientist with axe-core on every page.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { Op } from 'sequelize';
import { MappingStore } from '../../crds';
import { fileInfo, markFilesBad } from '../../db/catalog';
import { archiveStep } from '../../ops/commands/archive-sim';
import { astReferenceNames } from '../../web/browse/rules-index';
import { checkAccessibility, launchBrowser } from '../support/browser';
import { REAL_CACHE, startSite, type Site } from '../jsonrpc/site';

let site: Site;
let browser: BrowserContext;
let work: string;
const shots = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-browse-screenshots-'));
const REFERENCE = 'v8q14451j_idc.fits';

const getJson = async <T = Record<string, unknown>>(p: string): Promise<{ status: number; body: T }> => {
  const res = await fetch(site.url + p, { headers: { accept: 'application/json' } });
  return { status: res.status, body: (await res.json()) as T };
};
const getHtml = async (p: string): Promise<{ status: number; text: string }> => {
  const res = await fetch(site.url + p);
  return { status: res.status, text: await res.text() };
};

beforeAll(async () => {
  site = await startSite({ observatory: 'hst', source: REAL_CACHE });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-browse-'));
  browser = await launchBrowser(work);
}, 600_000);
afterAll(async () => {
  await browser?.close();
  await site?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('JSON twins against the catalog', () => {
  it('search counts and keyset pages equal the catalog rows of a filter', async () => {
    const expected = (await site.db.models.CatalogFile.findAll({ where: { instrument: 'acs', type: 'mapping' }, attributes: ['name'] })).map((r) => r.name).sort();
    expect(expected.length).toBeGreaterThan(100);
    const seen: string[] = [];
    let next: string | null = '/browse_db/?instrument=acs&kind=mapping&sort=name&limit=37&format=json';
    let pages = 0;
    while (next) {
      type Page = { files: { name: string }[]; next: string | null; total: number; facets: { instrument: Record<string, number> } };
      const { status, body }: { status: number; body: Page } = await getJson<Page>(next);
      expect(status).toBe(200);
      expect(body.total).toBe(expected.length);
      expect(body.facets.instrument).toEqual({ acs: expected.length });
      seen.push(...body.files.map((f) => f.name));
      next = body.next;
      pages++;
    }
    expect(pages).toBe(Math.ceil(expected.length / 37));
    expect(seen).toEqual(expected); // in name order, none twice, none missed

    const all = await getJson<{ facets: { kind: Record<string, number>; total: number } }>('/browse_db/?format=json');
    expect(all.body.facets.total).toBe(await site.db.models.CatalogFile.count());
    expect(all.body.facets.kind.reference).toBe(await site.db.models.CatalogFile.count({ where: { type: 'reference' } }));
    const pmaps = await getJson<{ total: number }>('/browse_db/?name=hst*.pmap&format=json');
    expect(pmaps.body.total).toBe(await site.db.models.CatalogFile.count({ where: { name: { [Op.like]: 'hst%.pmap' } } }));
  });

  it('a file page has every catalog field, and /uses/ equals the context closures of the rules engine', async () => {
    const row = (await site.db.models.CatalogFile.findOne({ where: { name: REFERENCE } }))!;
    const { status, body } = await getJson<{ fields: Record<string, string>; uses: { contexts: string[]; first: string; last: string }; header: Record<string, string> }>(`/browse/${REFERENCE}`);
    expect(status).toBe(200);
    expect(body.fields).toMatchObject(fileInfo(row));
    expect(body.header.INSTRUME).toBe('ACS');

    // The engine: every context's closure (its mappings and their references), for a sample of
    // contexts spread over the site's history and a reference, an rmap and an imap.
    const store = new MappingStore(path.join(site.fileCache, 'mappings', 'hst'));
    const contexts = (await site.db.models.CatalogFile.findAll({ where: { name: { [Op.like]: '%.pmap' } }, attributes: ['name'], order: [['name', 'ASC']] })).map((r) => r.name);
    // (Old-style contexts the engine cannot load, such as hst.pmap naming data/hst_acs.imap, are left out by both.)
    const closures = new Map<string, Set<string>>();
    for (const c of contexts.filter((_, i) => i % 100 === 0 || i >= contexts.length - 2)) {
      try {
        const pmap = store.loadContext(c);
        closures.set(c, new Set([...pmap.mappingNames(), ...pmap.referenceNames()]));
      } catch {
        expect((await getJson<{ contexts: string[] }>(`/uses/${REFERENCE}`)).body.contexts).not.toContain(c);
      }
    }
    const sample = [...closures.keys()];
    const latest = store.loadContext(contexts[contexts.length - 1]);
    const rmap = latest.mappingNames().find((n) => n.includes('_acs_idctab_'))!;
    const imap = latest.mappingNames().find((n) => n.endsWith('.imap'))!;
    for (const file of [REFERENCE, rmap, imap]) {
      const uses = (await getJson<{ contexts: string[]; first: string | null; last: string | null }>(`/uses/${file}`)).body;
      const fromEngine = sample.filter((c) => closures.get(c)!.has(file));
      expect(uses.contexts.filter((c) => closures.has(c))).toEqual(fromEngine);
      expect(fromEngine.length).toBeGreaterThan(0);
      expect(uses.first).toBe(uses.contexts[0]);
      expect(uses.last).toBe(uses.contexts[uses.contexts.length - 1]);
    }
    // The index reads rmaps' references from their syntax tree: the engine's names, for every rmap of the latest context.
    for (const name of latest.mappingNames().filter((n) => n.endsWith('.rmap'))) {
      const m = store.load(name);
      if (m.kind === 'rmap') expect([name, astReferenceNames(m.ast.selector)]).toEqual([name, m.referenceNames().slice().sort()]);
    }
  }, 300_000);

  it('context table, difference and history twins match the rules and the catalog', async () => {
    const contexts = (await site.db.models.CatalogFile.findAll({ where: { name: { [Op.like]: '%.pmap' } }, attributes: ['name'], order: [['name', 'ASC']] })).map((r) => r.name);
    const [older, newer] = contexts.slice(-2);
    const store = new MappingStore(path.join(site.fileCache, 'mappings', 'hst'));
    const table = (await getJson<{ rows: { instrument: string; filekind: string; rmap: string; references: number }[] }>(`/context_table/${newer}`)).body;
    const pmap = store.loadContext(newer);
    expect([...new Set(table.rows.map((r) => r.instrument))]).toEqual(pmap.instruments().slice().sort());
    for (const r of table.rows.filter((x) => x.rmap.endsWith('.rmap')).slice(0, 20)) {
      expect(r.rmap).toBe(pmap.getImap(r.instrument).selections.get(r.filekind));
      expect(r.references).toBe(store.load(r.rmap).referenceNames().length);
    }
    const diff = (await getJson<{ added: string[]; removed: string[] }>(`/difference/${older}/${newer}`)).body;
    const refs = (c: string) => new Set(store.loadContext(c).referenceNames());
    const [ro, rn] = [refs(older), refs(newer)];
    expect(diff.added).toEqual([...rn].filter((r) => !ro.has(r)).sort());
    expect(diff.removed).toEqual([...ro].filter((r) => !rn.has(r)).sort());
    const history = (await getJson<{ history: { context: string }[] }>('/display_context_history/')).body.history;
    expect(history.length).toBe(await site.db.models.ContextHistory.count({ where: { state: 'latest' } }));
  }, 120_000);
});

describe('hostile and absurd input', () => {
  it('shows HTML in descriptions, names and user names as text', async () => {
    const evil = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">';
    await site.db.models.CatalogFile.update({ description: evil, delivererUser: evil }, { where: { name: REFERENCE } });
    await site.db.models.AuditRecord.create({ date: new Date(), username: evil, action: 'hostile test', filename: REFERENCE, observatory: 'hst', instrument: 'acs', why: evil, details: {} });
    for (const p of [`/browse/${REFERENCE}`, '/browse_db/?instrument=acs&kind=reference', '/recent_activity/']) {
      const { status, text } = await getHtml(p);
      expect(status).toBe(200);
      expect(text).not.toContain('<script>window.pwned');
      expect(text).not.toContain('<img src=x');
      expect(text).toContain('&lt;script&gt;window.pwned=1&lt;/script&gt;');
    }
    const page = await browser.newPage();
    await page.goto(`${site.url}/browse/${REFERENCE}`);
    expect(await page.evaluate('window.pwned')).toBeUndefined();
    await page.close();
  }, 120_000);

  it('answers unknown files and contexts with a clear 404, and refuses or clamps absurd requests', async () => {
    for (const p of ['/browse/hst_9999.pmap', '/context_table/hst_9999.pmap', '/uses/nothing_here.fits', '/difference/hst_9999.pmap/hst_0001.pmap', '/browse/..%2F..%2Fetc%2Fpasswd']) {
      const { status, text } = await getHtml(p);
      expect([p, status]).toEqual([p, 404]);
      expect(text).toMatch(/No (file|context) named/);
    }
    expect((await getJson(`/browse/hst_9999.pmap`)).body).toMatchObject({ error: 'not found' });
    for (const p of ['/browse_db/?limit=-5', '/browse_db/?limit=abc', '/browse_db/?delivered_from=yesterday', '/browse_db/?sort=password', '/browse_db/?after=garbage', '/browse_db/?bad=maybe', `/browse_db/?name=${'x'.repeat(500)}`, '/recent_activity/?before=1;drop']) {
      expect([p, (await getHtml(p)).status]).toEqual([p, 400]);
    }
    const clamped = await getJson<{ limit: number; files: unknown[] }>('/browse_db/?limit=1000000&format=json');
    expect(clamped.body.limit).toBe(500);
    expect(clamped.body.files.length).toBe(500);
  });
});

it('walks as an instrument scientist: find, open, contexts, table, rows, compare, activity, deliveries', async () => {
  const page = await browser.newPage();
  const shot = (name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: false });
  await page.goto(`${site.url}/`);
  await checkAccessibility(page, 'home');
  // 1. The search box of any page finds the reference by name.
  await page.fill('#find-file-name', REFERENCE);
  await page.click('form.find-file button');
  await page.waitForURL(`${site.url}/browse/${REFERENCE}`);
  expect(await page.textContent('h1')).toContain(REFERENCE);
  await shot('1-reference');
  await checkAccessibility(page, 'file page');
  // 2. The contexts that use it.
  await page.click('#uses-link');
  await page.waitForURL(`${site.url}/uses/${REFERENCE}`);
  const contexts = await page.$$eval('#uses-list a', (as) => as.map((a) => a.textContent ?? ''));
  expect(contexts.length).toBeGreaterThan(0);
  await checkAccessibility(page, 'uses');
  // 3. The newest context's table, and the acs idctab rmap's rows in place and on its page.
  await page.click(`#uses-list a >> text=${contexts[contexts.length - 1]}`);
  await page.waitForURL(/\/context_table\//);
  const row = page.locator('#context-table tr[data-instrument="acs"][data-filekind="idctab"]');
  await row.locator('summary').click();
  await row.locator('table.rmap-rows tr').first().waitFor();
  await shot('2-context-table');
  await checkAccessibility(page, 'context table');
  await row.locator('details a').click();
  await page.waitForURL(/\.rmap#rows$/);
  expect(await page.locator('#rows + .table-wrap tbody tr').count()).toBeGreaterThan(0);
  expect(await page.locator(`#rows + .table-wrap a:text("${REFERENCE}")`).count()).toBeGreaterThan(0);
  await shot('3-rmap-rows');
  await checkAccessibility(page, 'rmap page');
  // 4. Compare the two newest contexts and see the references that changed.
  await page.goto(`${site.url}/display_all_contexts/`);
  await checkAccessibility(page, 'all contexts');
  const names = await page.$$eval('#all-contexts tr[data-name]', (trs) => trs.map((tr) => tr.getAttribute('data-name') ?? ''));
  const withChanges = await (async () => {
    for (let i = 1; i < names.length; i++) {
      const d = (await getJson<{ added: string[] }>(`/difference/${names[i]}/${names[i - 1]}`)).body;
      if (d.added.length) return [names[i], names[i - 1]];
    }
    throw new Error('no two contexts with changed references');
  })();
  await page.selectOption('#compare-form select[name=a]', withChanges[0]);
  await page.selectOption('#compare-form select[name=b]', withChanges[1]);
  await page.click('#compare-form button');
  await page.waitForURL(/\/difference\//);
  expect(await page.locator('#references-added li').count()).toBeGreaterThan(0);
  await shot('4-difference');
  await checkAccessibility(page, 'difference');
  // 5. Recent activity after a change: the file marked bad shows up with its reason.
  await markFilesBad(site.db, { names: [REFERENCE], bad: true, reason: 'walk test: bad distortion', username: 'scientist', mappingsDir: path.join(site.fileCache, 'mappings', 'hst') });
  await page.click('#nav-activity');
  await page.waitForURL(`${site.url}/recent_activity/`);
  await page.selectOption('select[name=user]', 'scientist');
  await page.click('form.filters button');
  expect(await page.textContent('#activity tbody')).toContain('walk test: bad distortion');
  await shot('5-activity');
  await checkAccessibility(page, 'recent activity');
  // 6. A delivery moving through the archive states (the archive played by ops/manage archive-sim's step).
  const deliveries = path.join(site.config.serverFiles, 'deliveries');
  const catalogs = path.join(site.config.serverFiles, 'catalogs');
  fs.mkdirSync(deliveries, { recursive: true });
  fs.mkdirSync(catalogs, { recursive: true });
  fs.writeFileSync(path.join(catalogs, 'opus_1_i.cat'), `${REFERENCE}\n`);
  fs.copyFileSync(path.join(catalogs, 'opus_1_i.cat'), path.join(deliveries, 'opus_1_i.cat'));
  const states: string[] = [];
  for (let step = 0; step < 4; step++) {
    await page.goto(`${site.url}/delivery_status/`);
    states.push((await page.getAttribute('#deliveries tr[data-catalog="opus_1_i.cat"]', 'data-state')) ?? '');
    if (step === 1) await checkAccessibility(page, 'delivery status');
    await shot(`6-delivery-${step}`);
    archiveStep(deliveries);
  }
  expect(states).toEqual(['delivered', 'submitted', 'archiving', 'archived']);
  // 7. The other pages, for accessibility: history, plots (charts drawn), best references, results.
  for (const p of ['/display_context_history/', '/plots/', '/bestrefs/', '/old_results/', '/browse_db/?instrument=acs']) {
    await page.goto(site.url + p);
    await checkAccessibility(page, p);
  }
  await page.goto(`${site.url}/plots/`);
  await page.waitForFunction(`Chart.instances && Object.keys(Chart.instances).length === 3`);
  await shot('7-plots');
  // 8. Best references from a pasted header, with the matched row.
  await page.goto(`${site.url}/bestrefs/`);
  await page.fill('textarea[name=header]', 'INSTRUME = ACS\nDETECTOR = WFC\nDATE-OBS = 2010-01-01\nTIME-OBS = 00:00:00\nCCDAMP = ABCD\nFILTER1 = F555W\nFILTER2 = CLEAR2L\nOBSTYPE = IMAGING');
  await page.click('#bestrefs-form button');
  await page.waitForSelector('#bestrefs-results');
  expect(await page.textContent('#bestrefs-results tr[data-filekind="idctab"]')).toMatch(/\.fits|N\/A|NOT FOUND/);
  await shot('8-bestrefs');
  await checkAccessibility(page, 'bestrefs result');
  await page.close();
  console.log(`screenshots in ${shots}`);
}, 300_000);
