// The nightly consistency checks (also run after a mirror): the file cache against the
// catalog both ways, a rotating sample of sha1 verifications that covers every file over
// CRDS_CHECK_SHA1_NIGHTS nights, delivery links, contexts whose closure is incomplete, and
// uploads or ingest files left behind. Each finding names its file, so an operator can act.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Op } from 'sequelize';
import type { Config } from '../config';
import type { Database } from '../db';
import { MappingStore } from '../crds';
import { CATALOG_SUFFIXES } from './submission';
import { digestFile, walkFiles } from './ops-files';

export type CheckName = 'orphan' | 'missing' | 'corrupted' | 'delivery-link' | 'incomplete-closure' | 'stale-upload';

export interface Finding {
  check: CheckName;
  /** The file (or context) concerned. */
  name: string;
  detail: string;
}

export interface ConsistencyReport {
  findings: Finding[];
  counts: Record<CheckName, number>;
  /** Files whose sha1 was verified tonight, of how many. */
  sha1: { verified: number; of: number; night: number; nights: number };
  contextsChecked: string[];
  seconds: number;
}

/** Which of N nights verifies a file: a stable hash of its name, so every file comes once per cycle. */
export function sha1Night(name: string, nights: number): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
  return h % nights;
}

/** Tonight's position in the cycle: days since the epoch. */
export const nightIndex = (at: Date, nights: number): number => Math.floor(at.getTime() / 86_400_000) % nights;

export async function checkConsistency(db: Database, config: Config, at = new Date(), nights = config.ops.sha1Nights): Promise<ConsistencyReport> {
  const started = Date.now();
  const obs = config.observatory;
  const findings: Finding[] = [];
  const folder = { mapping: path.join(config.fileCache, 'mappings', obs), reference: path.join(config.fileCache, 'references', obs) };
  const rows = await db.models.CatalogFile.findAll({ attributes: ['name', 'type', 'state', 'size', 'sha1sum'], where: { observatory: obs } });
  const byName = new Map(rows.map((r) => [r.name, r]));

  // 1. Cache ↔ catalog.
  for (const type of ['mapping', 'reference'] as const) {
    for (const rel of walkFiles(folder[type], (r) => r.startsWith('.') || r.includes('.tmp'))) {
      const row = byName.get(path.basename(rel));
      if (!row || row.type !== type) findings.push({ check: 'orphan', name: rel, detail: `in ${folder[type]} but not catalogued as a ${type}` });
    }
  }
  const present: typeof rows = [];
  for (const r of rows) {
    if (fs.existsSync(path.join(folder[r.type], r.name))) present.push(r);
    else if (r.state !== 'uploaded') findings.push({ check: 'missing', name: r.name, detail: `catalogued (${r.state}) but not in ${folder[r.type]}` });
  }

  // 2. Tonight's share of sha1 verifications.
  const night = nightIndex(at, nights);
  let verified = 0;
  for (const r of present) {
    if (sha1Night(r.name, nights) !== night) continue;
    const d = await digestFile(path.join(folder[r.type], r.name));
    verified++;
    if (d.sha1 !== r.sha1sum || d.size !== r.size) {
      findings.push({ check: 'corrupted', name: r.name, detail: `sha1 ${d.sha1} (${d.size} bytes), catalogued ${r.sha1sum} (${r.size} bytes)` });
    }
  }

  // 3. Delivery links: every file a delivered catalog lists is in deliveries/ as the cache's file.
  const deliveries = path.join(config.serverFiles, 'deliveries');
  const catalogs = path.join(config.serverFiles, 'catalogs');
  for (const cat of walkFiles(catalogs)) {
    const present = CATALOG_SUFFIXES.some(([suffix]) => fs.existsSync(path.join(deliveries, cat + suffix)));
    if (!present) continue; // archived: its files left the delivery folder
    for (const name of fs.readFileSync(path.join(catalogs, cat), 'utf8').split(/\s+/).filter(Boolean)) {
      const row = byName.get(name);
      const linked = path.join(deliveries, name);
      if (!fs.existsSync(linked)) {
        findings.push({ check: 'delivery-link', name, detail: `listed in ${cat} but not in ${deliveries}` });
      } else if (row && fs.existsSync(path.join(folder[row.type], name)) && fs.statSync(linked).size !== fs.statSync(path.join(folder[row.type], name)).size) {
        findings.push({ check: 'delivery-link', name, detail: `the copy in ${deliveries} differs from the cache's` });
      }
    }
  }

  // 4. Contexts whose closure is incomplete: the default contexts and those of the history.
  const contexts = new Set<string>();
  for (const d of await db.models.DefaultContext.findAll()) contexts.add(d.context);
  for (const h of await db.models.ContextHistory.findAll({ attributes: ['context'] })) contexts.add(h.context);
  const store = new MappingStore(folder.mapping, { ignoreChecksum: 'warn' });
  const checked: string[] = [];
  for (const context of [...contexts].filter((c) => c.endsWith('.pmap')).sort()) {
    checked.push(context);
    let missing: string[];
    try {
      const pmap = store.loadContext(context);
      missing = pmap.mappingNames().filter((n) => !byName.has(n) || !fs.existsSync(path.join(folder.mapping, n)));
      const refs = pmap.referenceNames().filter((n) => !byName.has(n) && !/^(N\/A|OMIT)$/i.test(n));
      if (refs.length) findings.push({ check: 'incomplete-closure', name: context, detail: `${refs.length} references named by its rules are not catalogued (e.g. ${refs.slice(0, 3).join(', ')})` });
    } catch (err) {
      findings.push({ check: 'incomplete-closure', name: context, detail: `cannot be loaded: ${(err as Error).message}` });
      continue;
    }
    if (missing.length) findings.push({ check: 'incomplete-closure', name: context, detail: `mappings missing: ${missing.join(', ')}` });
  }

  // 5. Uploads and ingest files older than the configured age.
  const cutoff = at.getTime() - config.ops.staleDays * 86_400_000;
  for (const area of ['uploads', 'ingest']) {
    const root = path.join(config.serverFiles, area);
    for (const rel of walkFiles(root)) {
      const st = fs.statSync(path.join(root, rel));
      if (st.mtimeMs < cutoff) findings.push({ check: 'stale-upload', name: `${area}/${rel}`, detail: `untouched since ${st.mtime.toISOString()}` });
    }
  }

  const counts = { orphan: 0, missing: 0, corrupted: 0, 'delivery-link': 0, 'incomplete-closure': 0, 'stale-upload': 0 } as Record<CheckName, number>;
  for (const f of findings) counts[f.check]++;
  return { findings, counts, sha1: { verified, of: present.length, night, nights }, contextsChecked: checked, seconds: (Date.now() - started) / 1000 };
}

/** Catalog counts for diagnostics: files by type and state, contexts, datasets. */
export async function catalogCounts(db: Database): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const rows = (await db.models.CatalogFile.findAll({
    attributes: ['type', 'state', [db.sequelize.fn('COUNT', db.sequelize.col('id')), 'n']],
    group: ['type', 'state'],
    raw: true,
  })) as unknown as { type: string; state: string; n: number }[];
  for (const r of rows) out[`${r.type}s ${r.state}`] = Number(r.n);
  out['contexts'] = await db.models.CatalogFile.count({ where: { name: { [Op.like]: '%.pmap' } } });
  out['datasets'] = await db.models.Dataset.count();
  return out;
}
