// What the browsing pages share: the catalog, the parsed rules and their index, and the
// reference headers read so far (names are immutable, so a header read once stays right).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mappingDifferences, type Difference } from '../../crds/diff';
import { Op } from 'sequelize';
import type { Config } from '../../config';
import { referenceKeywordsOrEmpty } from '../../crds/reference-header';
import type { Database } from '../../db';
import { catalogGeneration } from '../../db/catalog';
import type { RulesCache } from '../catalog-view';
import { RulesIndex } from './rules-index';

export interface UsesReport {
  file: string;
  contexts: string[];
  first: string | null;
  last: string | null;
}

export class BrowseDeps {
  readonly index: RulesIndex;
  private readonly headers = new Map<string, Record<string, string>>();
  private readonly diffs = new Map<string, Difference[]>();
  private contexts?: { generation: number; names: string[] };

  constructor(
    readonly db: Database,
    readonly config: Config,
    readonly rules: RulesCache,
  ) {
    this.index = new RulesIndex(rules);
  }

  /** A reference's header keywords as certify reads them ({} when unreadable or absent). */
  referenceHeader(name: string): Record<string, string> {
    let h = this.headers.get(name);
    if (!h) {
      h = referenceKeywordsOrEmpty(path.join(this.config.fileCache, 'references', this.config.observatory, name)).header;
      if (this.headers.size > 2000) this.headers.delete(this.headers.keys().next().value as string);
      this.headers.set(name, h);
    }
    return h;
  }

  /** Every context of the catalog, by name (oldest first); read again only when the catalog changed. */
  async catalogContexts(): Promise<string[]> {
    const generation = await catalogGeneration(this.db);
    if (this.contexts?.generation === generation) return this.contexts.names;
    const rows = await this.db.models.CatalogFile.findAll({
      where: { type: 'mapping', name: { [Op.like]: '%.pmap' } },
      attributes: ['name'],
      order: [['name', 'ASC']],
      raw: true,
    });
    this.contexts = { generation, names: rows.map((r) => r.name) };
    return this.contexts.names;
  }

  /** The catalog's contexts whose closure holds `name`, and the first and last of them. */
  async uses(name: string): Promise<UsesReport> {
    await this.index.ensure(await this.catalogContexts());
    const contexts = this.index.contextsUsing(name);
    return { file: name, contexts, first: contexts[0] ?? null, last: contexts[contexts.length - 1] ?? null };
  }

  /** Whether the catalog has a mapping of this name (and of this extension). */
  async isCatalogued(name: string): Promise<boolean> {
    return (await this.db.models.CatalogFile.count({ where: { name } })) > 0;
  }

  /** A mapping's text from the file cache, or undefined when it is not there. */
  mappingText(name: string): string | undefined {
    try {
      return fs.readFileSync(this.rules.store.locate(name), 'utf8');
    } catch {
      return undefined;
    }
  }

  /** crds/diff's logical differences between two mappings of the file cache (kept: names are immutable). */
  differences(older: string, newer: string): Difference[] {
    const key = `${older} ${newer}`;
    let d = this.diffs.get(key);
    if (!d) {
      d = mappingDifferences(older, newer, (n) => fs.readFileSync(this.rules.store.locate(n), 'utf8'));
      if (this.diffs.size > 500) this.diffs.delete(this.diffs.keys().next().value as string);
      this.diffs.set(key, d);
    }
    return d;
  }
}
