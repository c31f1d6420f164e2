// The source site's own account of itself, as the real client caches it in
// config/<obs>/server_config (the get_server_info answer, written with pprint): its
// latest-context history and its default contexts. ops/init imports them so that
// get_context_history, get_context_by_date and `crds list` history queries answer as the
// real site did.
import * as fs from 'node:fs';
import { Op } from 'sequelize';
import { bumpGeneration, type ContextState } from './catalog';
import type { Database } from './index';
import { parsePyLiteral } from './pyliteral';

export interface SiteHistoryEntry {
  date: Date;
  context: string;
  description: string;
}

export interface SiteConfig {
  history: SiteHistoryEntry[];
  contexts: Partial<Record<ContextState, string>>;
}

/** '2019-09-09 16:09:51[.ffffff]' (the server's naive UTC str(datetime)) as a Date. */
export function siteDate(text: string): Date | undefined {
  const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(\.\d{1,6})?$/.exec(text.trim());
  if (!m) return undefined;
  const d = new Date(`${m[1]}T${m[2]}${m[3] ? m[3].slice(0, 4) : ''}Z`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/**
 * Reads a cache's server_config: undefined when the file is absent; an error naming the
 * file when it is not a Python literal dict or its context_history is malformed.
 */
export function readServerConfig(file: string): SiteConfig | undefined {
  if (!fs.existsSync(file)) return undefined;
  const info = parsePyLiteral(fs.readFileSync(file, 'utf8'), file);
  if (!info || typeof info !== 'object' || Array.isArray(info)) throw new Error(`${file}: not a dict`);
  const dict = info as Record<string, unknown>;
  const history: SiteHistoryEntry[] = [];
  const raw = dict.context_history ?? [];
  if (!Array.isArray(raw)) throw new Error(`${file}: context_history is not a list`);
  for (const [i, entry] of raw.entries()) {
    const [date, context, description] = Array.isArray(entry) ? entry : [];
    const when = typeof date === 'string' ? siteDate(date) : undefined;
    if (!when || typeof context !== 'string' || !/^[a-z0-9_]+\.pmap$/.test(context)) {
      throw new Error(`${file}: context_history[${i}] is not [date, context.pmap, description]: ${JSON.stringify(entry).slice(0, 200)}`);
    }
    history.push({ date: when, context, description: typeof description === 'string' ? description : '' });
  }
  const contexts: Partial<Record<ContextState, string>> = {};
  const pick = (key: string) => (typeof dict[key] === 'string' && /^[a-z0-9_]+\.pmap$/.test(dict[key] as string) ? (dict[key] as string) : undefined);
  contexts.latest = pick('operational_context');
  contexts.edit = pick('edit_context');
  contexts.versions = pick('versions_context');
  return { history, contexts };
}

/**
 * Adds the site's history entries to the latest-context history, each once (same date and
 * context already recorded: known), leaving out contexts the catalog does not hold (a
 * history pointing at a missing context would break date-based context resolution).
 */
export async function importContextHistory(
  db: Database,
  entries: SiteHistoryEntry[],
  opts: { username: string; observatory: string },
): Promise<{ imported: number; known: number; uncatalogued: number }> {
  const { ContextHistory, CatalogFile, AuditRecord } = db.models;
  const out = { imported: 0, known: 0, uncatalogued: 0 };
  if (!entries.length) return out;
  const names = [...new Set(entries.map((e) => e.context))];
  const catalogued = new Set((await CatalogFile.findAll({ attributes: ['name'], where: { name: names, type: 'mapping' } })).map((r) => r.name));
  return db.sequelize.transaction(async (transaction) => {
    const existing = await ContextHistory.findAll({ attributes: ['startDate', 'context'], where: { state: 'latest', context: { [Op.in]: names } }, transaction });
    const seen = new Set(existing.map((r) => `${r.startDate.getTime()} ${r.context}`));
    const rows = [];
    for (const e of entries) {
      const key = `${e.date.getTime()} ${e.context}`;
      if (!catalogued.has(e.context)) out.uncatalogued++;
      else if (seen.has(key)) out.known++;
      else {
        seen.add(key);
        rows.push({ startDate: e.date, context: e.context, state: 'latest', description: e.description, username: opts.username });
      }
    }
    // Oldest first, so ids grow with dates like a history recorded as it happened (the
    // site lists newest first: reversed before the stable sort, same-date entries keep order).
    rows.reverse().sort((a, b) => a.startDate.getTime() - b.startDate.getTime());
    for (let i = 0; i < rows.length; i += 500) await ContextHistory.bulkCreate(rows.slice(i, i + 500), { transaction });
    out.imported = rows.length;
    if (rows.length) {
      await AuditRecord.create(
        {
          date: new Date(),
          username: opts.username,
          action: 'import context history',
          filename: rows[rows.length - 1].context,
          observatory: opts.observatory,
          why: 'site server_config',
          details: { text: `${rows.length} latest-context history entries, ${rows[0].context} .. ${rows[rows.length - 1].context}` },
        },
        { transaction },
      );
      await bumpGeneration(db, transaction);
    }
    return out;
  });
}
