// The hit counts of the login limiters (web/hardening.ts) kept in the catalog database, so that
// every web process of a site (compose runs several) counts the same failures: with counts in
// each process's memory, N processes allowed N times the configured failures.
// An express-rate-limit Store: one instance per limiter, told apart by its prefix.
import { DataTypes, Op, QueryTypes, type Model, type ModelStatic } from 'sequelize';
import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import type { Database } from './index';

type ThrottleRow = Model & { key: string; hits: number; resetMs: number };

function model(db: Database): ModelStatic<ThrottleRow> {
  const existing = db.sequelize.models.LoginThrottle as ModelStatic<ThrottleRow> | undefined;
  return (
    existing ??
    db.sequelize.define<ThrottleRow>(
      'LoginThrottle',
      {
        key: { type: DataTypes.STRING(191), primaryKey: true },
        hits: { type: DataTypes.INTEGER, allowNull: false },
        resetMs: { type: DataTypes.BIGINT, allowNull: false },
      },
      { tableName: 'login_throttle', underscored: true, timestamps: false },
    )
  );
}

/** Keys longer than the column are cut: an address or a 150-character account name fits. */
const KEY_LENGTH = 191;

export class DatabaseThrottleStore implements Store {
  readonly localKeys = false;
  private windowMs = 60_000;
  /** Expired rows are removed now and then by the increments themselves. */
  private sweeps = 0;

  constructor(
    private readonly db: Database,
    readonly prefix: string,
  ) {}

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  private key(key: string): string {
    return `${this.prefix}${key}`.slice(0, KEY_LENGTH);
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const row = await model(this.db).findByPk(this.key(key));
    if (!row || Number(row.resetMs) <= Date.now()) return undefined;
    return { totalHits: row.hits, resetTime: new Date(Number(row.resetMs)) };
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const Throttle = model(this.db);
    const k = this.key(key);
    const now = Date.now();
    if (++this.sweeps % 100 === 0) await Throttle.destroy({ where: { resetMs: { [Op.lt]: now } } });
    const fresh = now + this.windowMs;
    // One upsert counts the hit (a new window once the old one ended): two processes counting
    // the same key at once are serialised by the row, with no read-then-write deadlock.
    const replacements = { k, now, fresh };
    if (this.db.dialect === 'sqlite') {
      const [row] = await this.db.sequelize.query<{ hits: number; reset_ms: number }>(
        // RETURNING reads the count the statement wrote; the WITH lets Sequelize run it as a
        // query that returns rows (it runs a statement starting "INSERT INTO" as one that doesn't).
        'WITH hit(k, fresh) AS (SELECT :k, :fresh) INSERT INTO login_throttle ("key", hits, reset_ms) SELECT k, 1, fresh FROM hit WHERE true ' +
          'ON CONFLICT("key") DO UPDATE SET hits = CASE WHEN reset_ms <= :now THEN 1 ELSE hits + 1 END, reset_ms = CASE WHEN reset_ms <= :now THEN :fresh ELSE reset_ms END RETURNING hits, reset_ms',
        { replacements, type: QueryTypes.SELECT },
      );
      return { totalHits: Number(row!.hits), resetTime: new Date(Number(row!.reset_ms)) };
    }
    return this.db.sequelize.transaction(async (transaction) => {
      await this.db.sequelize.query(
        'INSERT INTO login_throttle (`key`, hits, reset_ms) VALUES (:k, 1, :fresh) ON DUPLICATE KEY UPDATE hits = IF(reset_ms <= :now, 1, hits + 1), reset_ms = IF(reset_ms <= :now, :fresh, reset_ms)',
        { replacements, transaction },
      );
      // The upsert holds the row until the commit: this reads our own count.
      const row = (await Throttle.findByPk(k, { transaction }))!;
      return { totalHits: row.hits, resetTime: new Date(Number(row.resetMs)) };
    });
  }

  async decrement(key: string): Promise<void> {
    await model(this.db).decrement('hits', { where: { key: this.key(key), hits: { [Op.gt]: 0 } } });
  }

  async resetKey(key: string): Promise<void> {
    await model(this.db).destroy({ where: { key: this.key(key) } });
  }
}
