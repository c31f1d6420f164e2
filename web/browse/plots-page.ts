// /plots/: the catalog at a glance: deliveries per month per instrument, files per type, and
// the operational context over time (Chart.js draws them from JSON in the page; the same
// numbers are in tables for readers without scripts).
import { Router } from 'express';
import { literal } from 'sequelize';
import { facetCounts } from '../../db/browse';
import { catalogGeneration } from '../../db/catalog';
import { respond } from './respond';
import type { BrowseDeps } from './deps';

export interface MonthlyDeliveries {
  months: string[];
  /** instrument → deliveries per month, parallel to months */
  series: Record<string, number[]>;
}

export function plotsRouter(deps: BrowseDeps): Router {
  const router = Router();
  const { db } = deps;
  let cached: { generation: number; monthly: MonthlyDeliveries } | undefined;

  const monthly = async (): Promise<MonthlyDeliveries> => {
    const generation = await catalogGeneration(db);
    if (cached?.generation === generation) return cached.monthly;
    const month = db.dialect === 'mysql' ? "DATE_FORMAT(delivery_date, '%Y-%m')" : 'substr(delivery_date, 1, 7)';
    const rows = (await db.models.CatalogFile.findAll({
      attributes: ['instrument', [literal(month), 'month'], [literal('COUNT(*)'), 'n']],
      group: ['instrument', literal(month) as never],
      raw: true,
    })) as unknown as { instrument: string; month: string; n: number | string }[];
    const months = [...new Set(rows.map((r) => r.month))].sort();
    const series: Record<string, number[]> = {};
    for (const r of rows) {
      const instrument = r.instrument || '(none)';
      series[instrument] ??= months.map(() => 0);
      series[instrument][months.indexOf(r.month)] += Number(r.n);
    }
    cached = { generation, monthly: { months, series } };
    return cached.monthly;
  };

  router.get('/plots/', async (req, res) => {
    const [deliveries, facets, history] = await Promise.all([
      monthly(),
      facetCounts(db, {}),
      db.models.ContextHistory.findAll({ where: { state: 'latest' }, order: [['startDate', 'ASC'], ['id', 'ASC']], limit: 5000 }),
    ]);
    const filesPerType = Object.entries(facets.filekind).sort((a, b) => b[1] - a[1]);
    const timeline = history.map((h) => ({ x: h.startDate.toISOString(), y: Number(/_(\d+)\.pmap$/.exec(h.context)?.[1] ?? 0), context: h.context }));
    const data = { deliveries_per_month: deliveries, files_per_type: Object.fromEntries(filesPerType), context_timeline: timeline };
    respond(req, res, 'plots', { title: 'Plots', ...data, filesPerType, scripts: ['/static/vendor/chart.umd.js', '/static/charts.js'] }, data);
  });

  return router;
}
