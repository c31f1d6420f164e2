// The web's in-memory view of the catalog: every file's state and info, the default contexts,
// the context history and the bad files, loaded at once and reloaded only when the catalog
// generation changes (checked at most every `refreshMs`). JSON-RPC and downloads answer from
// it, so the hot paths (get_best_references, get_file_info_map, downloads) never wait on the
// database. Writers in this process call invalidate() to be seen at once.
import { gzipSync } from 'node:zlib';
import { MappingStore, type Mapping, type PipelineContext } from '../crds';
import type { Database } from '../db';
import { catalogGeneration, defaultContexts, DISTRIBUTION_STATES, fileInfo, pyDate, type DefaultContexts } from '../db/catalog';

export interface FileEntry {
  name: string;
  type: 'mapping' | 'reference';
  state: string;
  rejected: boolean;
  available: boolean;
  size: number;
  sha1sum: string;
  /** get_file_info's dict (lower-cased strings). */
  info: Record<string, string>;
}

export interface HistoryEntry {
  startDate: Date;
  context: string;
  description: string;
}

export interface CatalogSnapshot {
  generation: number;
  loadedAt: Date;
  files: ReadonlyMap<string, FileEntry>;
  defaults: DefaultContexts;
  /** Latest-context history, newest first. */
  history: readonly HistoryEntry[];
  /** Build contexts by calibration software version. */
  builds: ReadonlyMap<string, string>;
  /** Sorted rejected files (server info's bad_files_list). */
  badFiles: readonly string[];
  /** Sorted available mappings (server info's `mappings`). */
  mappings: readonly string[];
  /** crds_encoded {name: {size, sha1sum}} of every available file, made on first use. */
  downloadMetadata(): { crds_encoded: string; crds_payload: string };
}

/** The original's crds_encode: base64(gzip(utf8(json))) (crds-protocol.md §1.4). */
export function crdsEncode(value: unknown): { crds_encoded: string; crds_payload: string } {
  return { crds_encoded: '1.0', crds_payload: gzipSync(Buffer.from(JSON.stringify(value), 'utf8')).toString('base64') };
}

export class CatalogView {
  private snapshot?: CatalogSnapshot;
  private checkedAt = 0;
  private pending?: Promise<CatalogSnapshot>;

  constructor(
    private readonly db: Database,
    private readonly refreshMs = 1000,
  ) {}

  /**
   * The current snapshot: cached, re-checked against the catalog generation at most every
   * refreshMs. Past half that age the check starts in the background while the snapshot is
   * still answered, so on a busy site no request waits for the generation query (on the thread
   * pool that downloads and uploads also use) and none sees a snapshot older than refreshMs.
   */
  current(): Promise<CatalogSnapshot> {
    const age = Date.now() - this.checkedAt;
    if (this.snapshot && age < this.refreshMs) {
      if (age >= this.refreshMs / 2 && !this.pending) this.check().catch(() => undefined); // the next request retries
      return Promise.resolve(this.snapshot);
    }
    return this.check();
  }

  private check(): Promise<CatalogSnapshot> {
    this.pending ??= this.refresh().finally(() => (this.pending = undefined));
    return this.pending;
  }

  invalidate(): void {
    this.checkedAt = 0;
    this.snapshot = undefined;
  }

  private async refresh(): Promise<CatalogSnapshot> {
    const generation = await catalogGeneration(this.db);
    if (!this.snapshot || this.snapshot.generation !== generation) this.snapshot = await this.load(generation);
    this.checkedAt = Date.now();
    return this.snapshot;
  }

  private async load(generation: number): Promise<CatalogSnapshot> {
    const { CatalogFile, ContextHistory, BuildContext } = this.db.models;
    const [rows, defaults, history, builds] = await Promise.all([
      CatalogFile.findAll({ order: [['name', 'ASC']] }),
      defaultContexts(this.db),
      ContextHistory.findAll({ where: { state: 'latest' }, order: [['startDate', 'DESC'], ['id', 'DESC']] }),
      BuildContext.findAll(),
    ]);
    const files = new Map<string, FileEntry>();
    for (const row of rows) {
      files.set(row.name, {
        name: row.name,
        type: row.type,
        state: row.state,
        rejected: row.rejected,
        available: DISTRIBUTION_STATES.has(row.state),
        size: row.size,
        sha1sum: row.sha1sum,
        info: fileInfo(row),
      });
    }
    const all = [...files.values()];
    let metadata: { crds_encoded: string; crds_payload: string } | undefined;
    return {
      generation,
      loadedAt: new Date(),
      files,
      defaults,
      history: history.map((h) => ({ startDate: h.startDate, context: h.context, description: h.description })),
      builds: new Map(builds.map((b) => [b.calver, b.context])),
      badFiles: all.filter((f) => f.rejected).map((f) => f.name),
      mappings: all.filter((f) => f.type === 'mapping' && f.available).map((f) => f.name),
      downloadMetadata: () => {
        if (!metadata) {
          const out: Record<string, { size: string; sha1sum: string }> = {};
          for (const f of all) if (f.available) out[f.name] = { size: String(f.size), sha1sum: f.sha1sum };
          metadata = crdsEncode(out);
        }
        return metadata;
      },
    };
  }
}

/** Python's str(datetime) for history rows, as get_context_history shows them. */
export const historyDate = (d: Date): string => pyDate(d);

/**
 * Loaded rules of the server's file cache. CRDS names are immutable (a changed mapping gets a
 * new name), so each parsed context is kept for the process's life.
 */
export class RulesCache {
  readonly store: MappingStore;
  private readonly contexts = new Map<string, PipelineContext>();

  constructor(mappingsDir: string) {
    this.store = new MappingStore(mappingsDir);
  }

  context(name: string): PipelineContext {
    let pmap = this.contexts.get(name);
    if (!pmap) {
      pmap = this.store.loadContext(name);
      this.contexts.set(name, pmap);
    }
    return pmap;
  }

  mapping(name: string): Mapping {
    return name.endsWith('.pmap') ? this.context(name) : this.store.load(name);
  }
}
