// The context pages: the operational history (/display_context_history/), every context
// (/display_all_contexts/), one context's instruments × types (/context_table/<pmap>), and the
// difference of two mappings, contexts or references (/difference/<a>/<b>).
import { Router } from 'express';
import { Op } from 'sequelize';
import { differenceToJson, removeBoring } from '../../crds/diff';
import { defaultContexts } from '../../db/catalog';
import { FILE_NAME_RE } from '../../db/catalog-import';
import { GenerationCache } from './page-cache';
import { badRequest, notFound, param, respond } from './respond';
import type { ContextTableRow } from './rules-index';
import type { BrowseDeps } from './deps';

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

/** The serial of a context name (hst_0729.pmap → 729), for the timeline's y axis. */
const serial = (name: string): number | null => {
  const m = /_(\d+)\.pmap$/.exec(name);
  return m ? Number(m[1]) : null;
};

export function contextPagesRouter(deps: BrowseDeps): Router {
  const router = Router();
  const { db } = deps;

  router.get('/display_context_history/', async (req, res) => {
    const rows = await db.models.ContextHistory.findAll({ where: { state: 'latest' }, order: [['startDate', 'DESC'], ['id', 'DESC']], limit: 5000 });
    const history = rows.map((h) => ({ start_date: iso(h.startDate), context: h.context, user: h.username, description: h.description }));
    const chart = {
      label: 'Operational context',
      points: history
        .filter((h) => serial(h.context) !== null)
        .map((h) => ({ x: h.start_date, y: serial(h.context), context: h.context }))
        .reverse(),
    };
    respond(req, res, 'context-history', { title: 'Context history', history, chart, scripts: ['/static/vendor/chart.umd.js', '/static/charts.js'] }, { history });
  });

  router.get('/display_all_contexts/', async (req, res) => {
    const [rows, defaults] = await Promise.all([
      db.models.CatalogFile.findAll({
        where: { type: 'mapping', name: { [Op.like]: '%.pmap' } },
        attributes: ['name', 'state', 'deliveryDate', 'delivererUser', 'description', 'derivedFrom', 'rejected', 'blacklisted'],
        order: [['name', 'DESC']],
      }),
      defaultContexts(db),
    ]);
    const contexts = rows.map((r) => ({
      name: r.name,
      state: r.state,
      delivery_date: iso(r.deliveryDate),
      submitter: r.delivererUser,
      description: r.description ?? '',
      derived_from: r.derivedFrom,
      bad: r.rejected || r.blacklisted,
      defaults: (['latest', 'edit', 'versions'] as const).filter((s) => defaults[s] === r.name),
    }));
    respond(req, res, 'all-contexts', { title: 'All contexts', contexts, defaults }, { defaults, contexts });
  });

  // A context's table per catalog generation (page-cache.ts): a 404's reason, or the table.
  const tables = new GenerationCache<{ missing: string } | { table: ContextTableRow[]; instruments: string[]; total: number }>(db, 500);

  router.get('/context_table/:pmap', async (req, res) => {
    const { pmap } = req.params as Record<string, string>;
    if (!FILE_NAME_RE.test(pmap) || !pmap.endsWith('.pmap')) return notFound(req, res, `No context named '${pmap}' in the catalog.`);
    const answer = await tables.get(pmap, async () => {
      if (!(await deps.isCatalogued(pmap))) return { missing: `No context named '${pmap}' in the catalog.` };
      let table;
      try {
        table = deps.index.contextTable(pmap);
      } catch (err) {
        return { missing: `The rules of context '${pmap}' cannot be loaded: ${(err as Error).message}` };
      }
      return { table, instruments: [...new Set(table.map((r) => r.instrument))], total: table.reduce((n, r) => n + r.references, 0) };
    });
    if ('missing' in answer) return notFound(req, res, answer.missing);
    const { table, instruments, total } = answer;
    respond(req, res, 'context-table', { title: `Context ${pmap}`, pmap, table, instruments, total, scripts: ['/static/browse.js'] }, { context: pmap, instruments, rows: table, references: total });
  });

  // The compare form (no script needed): /difference/?a=..&b=.. → /difference/a/b
  router.get('/difference/', (req, res) => {
    const [a, b] = [param(req, 'a'), param(req, 'b')];
    if (!a || !b) return badRequest(req, res, 'Choose two files to compare (a and b).');
    res.redirect(302, `/difference/${encodeURIComponent(a)}/${encodeURIComponent(b)}`);
  });

  router.get('/difference/:a/:b', async (req, res) => {
    const { a, b } = req.params as Record<string, string>;
    for (const n of [a, b]) {
      if (!FILE_NAME_RE.test(n) || !(await deps.isCatalogued(n))) return notFound(req, res, `No file named '${n}' in the catalog.`);
    }
    const kind = (n: string) => (/\.[pir]map$/.test(n) ? n.slice(-4) : 'reference');
    if (kind(a) !== kind(b)) return badRequest(req, res, `'${a}' and '${b}' are not the same kind of file: compare two contexts, two mappings of one kind, or two references.`);
    if (kind(a) === 'reference') {
      const [ha, hb] = [deps.referenceHeader(a), deps.referenceHeader(b)];
      const keys = [...new Set([...Object.keys(ha), ...Object.keys(hb)])].sort();
      const keywords = keys.filter((k) => ha[k] !== hb[k]).map((k) => ({ keyword: k, a: ha[k] ?? null, b: hb[k] ?? null }));
      const data = { a, b, kind: 'reference', keywords, same: keys.length - keywords.length };
      return respond(req, res, 'difference', { title: `${a} vs ${b}`, ...data, groups: [], added: [], removed: [] }, data);
    }
    if (deps.mappingText(a) === undefined || deps.mappingText(b) === undefined) return notFound(req, res, `The rules of '${a}' or '${b}' are not in the file cache.`);
    let diffs;
    try {
      diffs = removeBoring(deps.differences(a, b)).map(differenceToJson);
    } catch (err) {
      return badRequest(req, res, (err as Error).message);
    }
    // Grouped by instrument and type, in the differences' order.
    const groups: { instrument: string; filekind: string; differences: typeof diffs }[] = [];
    for (const d of diffs) {
      const instrument = String(d.instrument ?? '');
      const filekind = String(d.filekind ?? '');
      let g = groups.find((x) => x.instrument === instrument && x.filekind === filekind);
      if (!g) groups.push((g = { instrument, filekind, differences: [] }));
      g.differences.push(d);
    }
    // References of each closure: what the newer one adds and drops.
    const refs = (name: string): Set<string> => {
      const out = new Set<string>();
      const walk = (n: string) => {
        for (const c of deps.index.childrenOf(n)) if (/\.[ir]map$/.test(c)) walk(c);
        else out.add(c);
      };
      if (name.endsWith('.rmap')) deps.index.childrenOf(name).forEach((r) => out.add(r));
      else walk(name);
      return out;
    };
    const [ra, rb] = [refs(a), refs(b)];
    const added = [...rb].filter((r) => !ra.has(r)).sort();
    const removed = [...ra].filter((r) => !rb.has(r)).sort();
    const data = { a, b, kind: kind(a), differences: diffs.length, groups, added, removed };
    respond(req, res, 'difference', { title: `${a} vs ${b}`, ...data, keywords: [] }, data);
  });

  return router;
}
