// The browsing pages' answers kept per catalog generation: a file page, a context table or a
// search answer costs a dozen queries and some parsing, yet only changes when a writer bumps
// the generation (db/catalog.ts bumpGeneration, in every catalog writer's transaction). So an
// answer is computed once per generation and key, and served from memory until the next bump;
// concurrent requests for the same missing answer share one computation. Least recently used
// answers go first once their estimated size passes the budget.
import { catalogGeneration } from '../../db/catalog';
import type { Database } from '../../db';

export class GenerationCache<V> {
  private generation = -1;
  /** insertion order is recency order (a hit moves its entry to the end) */
  private readonly entries = new Map<string, { value: Promise<V>; weight: number }>();
  private weight = 0;

  /**
   * @param budget the sum of the entries' weights kept (LRU beyond it)
   * @param weigh an entry's weight, e.g. its approximate bytes; default 1 (budget = count)
   */
  constructor(
    private readonly db: Database,
    private readonly budget: number,
    private readonly weigh: (value: V) => number = () => 1,
  ) {}

  /** The answer for `key` in the current generation: kept, or computed by `compute` and kept. */
  async get(key: string, compute: () => Promise<V>): Promise<V> {
    // Read for every request (one primary-key lookup): a page asked after a writer's commit
    // must not be answered from the generation before it.
    const generation = await catalogGeneration(this.db);
    if (generation !== this.generation) {
      this.entries.clear();
      this.weight = 0;
      this.generation = generation;
    }
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value;
    }
    const entry = { value: compute(), weight: 0 };
    this.entries.set(key, entry);
    let value: V;
    try {
      value = await entry.value;
    } catch (err) {
      if (this.entries.get(key) === entry) this.entries.delete(key);
      throw err;
    }
    // Still ours (not cleared by a newer generation, not evicted): weigh it and keep the budget.
    if (this.entries.get(key) === entry && this.generation === generation) {
      entry.weight = Math.max(1, this.weigh(value));
      this.weight += entry.weight;
      for (const [k, e] of this.entries) {
        if (this.weight <= this.budget || k === key) break;
        this.entries.delete(k);
        this.weight -= e.weight;
      }
    }
    return value;
  }
}
