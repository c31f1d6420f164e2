// Answers whose cost grows with the catalog (server info, context history, file lists, the
// SQLite snapshot, a context's names and parameters), computed once per catalog snapshot and
// kept serialized: a repeat costs a map lookup, whatever the catalog's size. The snapshot
// changes only with the catalog generation (web/catalog-view.ts), so a new generation starts
// empty and the old answers go with the old snapshot.
import type { CatalogSnapshot } from '../catalog-view';
import { RawJson } from './raw-json';

export class AnswerCache {
  private readonly bySnapshot = new WeakMap<CatalogSnapshot, Map<string, RawJson | Promise<RawJson>>>();

  /** @param maxEntries answers kept per snapshot (the map is cleared when full: keys can come from the wire). */
  constructor(private readonly maxEntries = 2000) {}

  /**
   * The answer to `key` about `snapshot`, made by `build` on the first call (concurrent first
   * calls share one build; a failed build is not kept).
   */
  get(snapshot: CatalogSnapshot, key: string, build: () => unknown): RawJson | Promise<RawJson> {
    let answers = this.bySnapshot.get(snapshot);
    if (!answers) this.bySnapshot.set(snapshot, (answers = new Map()));
    const known = answers.get(key);
    if (known) return known;
    if (answers.size >= this.maxEntries) answers.clear();
    const made = build();
    if (!(made instanceof Promise)) {
      const raw = made instanceof RawJson ? made : new RawJson(JSON.stringify(made ?? null));
      answers.set(key, raw);
      return raw;
    }
    const map = answers;
    const pending = made.then(
      (value: unknown) => {
        const raw = value instanceof RawJson ? value : new RawJson(JSON.stringify(value ?? null));
        map.set(key, raw);
        return raw;
      },
      (exc: unknown) => {
        map.delete(key);
        throw exc;
      },
    );
    map.set(key, pending);
    return pending;
  }
}
