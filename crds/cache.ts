// The engine's explicit cache object (no hidden global state): memoized pure functions that
// load and lookup repeat a great deal — conditioning of match-key elements, matcher objects,
// dataset dates. One per MappingStore; bounded so a long-running server cannot grow it forever.
import { conditionValue } from './conditioning';
import { HeaderExpression } from './expressions';
import { matcher, type Matcher } from './matchers';
import { reformatDate } from './timestamp';

const LIMIT = 50_000;

/** A date reformatDate rejects: its exception (or the message of a non-Error throw). */
export interface DateFailure {
  readonly message: string;
}

function remember<V>(map: Map<string, V>, key: string, value: V): V {
  if (map.size >= LIMIT) map.clear();
  map.set(key, value);
  return value;
}

function rememberNumber(map: Map<number, string>, key: number, value: string): string {
  if (map.size >= LIMIT) map.clear();
  map.set(key, value);
  return value;
}

export class EngineCache {
  private readonly conditioned = new Map<string, string>();
  private readonly numbers = new Map<number, string>();
  private readonly upper = new Map<string, string>();
  private readonly datePairs = new Map<string, Map<string, string | DateFailure>>();
  private datePairCount = 0;
  private readonly matchers = new Map<string, Matcher>();
  private readonly dates = new Map<string, string>();
  private readonly dateResults = new Map<string, string | DateFailure>();
  private readonly expressions = new Map<string, HeaderExpression>();

  conditionValue(s: string): string {
    return this.conditioned.get(s) ?? remember(this.conditioned, s, conditionValue(s));
  }

  /**
   * reformatDateOrFailure of the UseAfter raw date of two parameter values a, b (neither
   * UNDEFINED): (a.trim() + ' ' + b.trim()).trim(), memoized by the two values themselves.
   */
  reformatDatePair(a: string, b: string): string | DateFailure {
    let byB = this.datePairs.get(a);
    if (!byB) {
      if (this.datePairCount >= LIMIT) {
        this.datePairs.clear();
        this.datePairCount = 0;
      }
      byB = new Map();
      this.datePairs.set(a, byB);
    }
    let r = byB.get(b);
    if (r === undefined) {
      r = this.reformatDateOrFailure((a.trim() + ' ' + b.trim()).trim());
      byB.set(b, r);
      this.datePairCount++;
    }
    return r;
  }

  /** key.toUpperCase(), memoized: header keys repeat across datasets and a Map hit is cheaper. */
  upperKey(key: string): string {
    return this.upper.get(key) ?? remember(this.upper, key, key.toUpperCase());
  }

  /** conditionValue of a JSON number header value (0 and -0 are left out: one Map key, two answers). */
  conditionNumber(n: number): string {
    if (n === 0) return conditionValue(n);
    return this.numbers.get(n) ?? rememberNumber(this.numbers, n, conditionValue(n));
  }

  /**
   * A compiled header expression (immutable, so shared): rmaps repeat the same relevance and
   * omit expressions. Compile errors are thrown each time, not cached.
   */
  expression(source: string): HeaderExpression {
    return this.expressions.get(source) ?? remember(this.expressions, source, new HeaderExpression(source));
  }

  /** Matchers are immutable, so one per distinct conditioned key element is shared. */
  matcher(key: string): Matcher {
    return this.matchers.get(key) ?? remember(this.matchers, key, matcher(key));
  }

  /** reformatDate of a dataset date; failures are not cached (they throw each time). */
  reformatDate(raw: string): string {
    return this.dates.get(raw) ?? remember(this.dates, raw, reformatDate(raw));
  }

  /**
   * reformatDate of a dataset date, or the message of the exception it throws. Failures are
   * memoized too (as values), so a bad date costs one parse, not one exception per lookup.
   */
  reformatDateOrFailure(raw: string): string | DateFailure {
    let r = this.dateResults.get(raw);
    if (r === undefined) {
      try {
        r = reformatDate(raw);
      } catch (exc) {
        // the exception itself (it has the message), so callers may rethrow it as is
        r = exc instanceof Error ? exc : { message: String(exc) };
      }
      remember(this.dateResults, raw, r);
    }
    return r;
  }
}
