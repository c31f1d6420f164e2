// The durable records of a submission (table submission_records, migration 0003): a value
// is decided once per (submission, slot) and found again by every later attempt, so an
// activity re-run after a crash reuses the serial name or delivery id it drew instead of
// drawing another (no skipped or repeated numbers).
import { DataTypes, Op, type ModelStatic, type Model, type Transaction } from 'sequelize';
import type { Database } from './index';
import { nextCounter } from './catalog';
import { freeCdbsUniqueName } from '../crds/uniqname';

interface SubmissionRecordRow extends Model {
  submissionId: string;
  slot: string;
  value: string;
  createdAt: Date;
}

function model(db: Database): ModelStatic<SubmissionRecordRow> {
  const existing = db.sequelize.models.SubmissionRecord as ModelStatic<SubmissionRecordRow> | undefined;
  return (
    existing ??
    db.sequelize.define<SubmissionRecordRow>(
      'SubmissionRecord',
      {
        submissionId: { type: DataTypes.STRING(128), primaryKey: true },
        slot: { type: DataTypes.STRING(191), primaryKey: true },
        value: { type: DataTypes.STRING(255), allowNull: false },
        createdAt: DataTypes.DATE,
      },
      { tableName: 'submission_records', updatedAt: false, underscored: true },
    )
  );
}

/**
 * The value recorded for (submission, slot), or the one `decide` produces, recorded in the
 * same transaction: a counter drawn inside `decide` is used exactly once.
 */
export async function recordOnce(
  db: Database,
  submissionId: string,
  slot: string,
  decide: (transaction: Transaction) => Promise<string>,
): Promise<string> {
  const Record = model(db);
  return db.sequelize.transaction(async (transaction) => {
    const found = await Record.findOne({ where: { submissionId, slot }, transaction, lock: transaction.LOCK.UPDATE });
    if (found) return found.value;
    const value = await decide(transaction);
    await Record.create({ submissionId, slot, value, createdAt: new Date() }, { transaction });
    return value;
  });
}

export async function recorded(db: Database, submissionId: string, slot: string): Promise<string | undefined> {
  return (await model(db).findOne({ where: { submissionId, slot } }))?.value;
}

/** Every record of a submission, slot → value (for tests and operators). */
export async function submissionRecords(db: Database, submissionId: string): Promise<Record<string, string>> {
  const rows = await model(db).findAll({ where: { submissionId }, order: [['slot', 'ASC']] });
  return Object.fromEntries(rows.map((r) => [r.slot, r.value]));
}

/**
 * A new CRDS serial name `<prefix>_NNNN<ext>` (§4.8) for a submission's slot, from the counter
 * `<prefix>_<ext>`: always past the highest serial the catalog holds (an imported cache or a
 * mirror may hold higher ones than the counter has drawn); names already in the catalog are
 * skipped, as get_new_name does.
 */
export async function assignSerialName(db: Database, submissionId: string, slot: string, prefix: string, ext: string): Promise<string> {
  return recordOnce(db, submissionId, `name:${slot}`, async (transaction) => {
    const counter = `${prefix}_${ext}`;
    const { NameCounter, CatalogFile } = db.models;
    // No escape character in the pattern: SQLite's LIKE has none without an ESCAPE clause.
    // '_' is then a wildcard too, so the regex below keeps only the series' own names.
    const rows = await CatalogFile.findAll({ attributes: ['name'], where: { name: { [Op.like]: `${prefix}_%${ext}` } }, transaction });
    const serial = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}_(\\d+)${ext.replace('.', '\\.')}$`);
    const highest = Math.max(0, ...rows.map((r) => Number(serial.exec(r.name)?.[1] ?? 0)));
    // Counters hold the last number drawn (nextCounter returns it plus one).
    const row = await NameCounter.findByPk(counter, { transaction, lock: transaction.LOCK.UPDATE });
    if (!row) await NameCounter.create({ name: counter, counter: highest }, { transaction });
    else if (row.counter < highest) await row.update({ counter: highest }, { transaction });
    for (;;) {
      const name = `${prefix}_${String(await nextCounter(db, counter, transaction)).padStart(4, '0')}${ext}`;
      if (!(await CatalogFile.findOne({ attributes: ['id'], where: { name }, transaction }))) return name;
    }
  });
}

/**
 * An HST reference's CDBS-style time-based name (crds/uniqname.ts) for a submission's slot,
 * drawn once: the first name at or after `now` that neither the catalog, nor `pending` (the
 * names this submission drew and has not catalogued yet), nor another submission's drawing
 * holds. Each name drawn is reserved as a name_counters row `uniqname:<name>` in the same
 * transaction, so two submissions in the same two seconds never draw the same name (the
 * second's insert conflicts and its activity retries past it).
 */
export async function assignCdbsName(
  db: Database,
  submissionId: string,
  slot: string,
  kind: { instrument: string; suffix: string; ext: string },
  now: Date,
  pending: ReadonlySet<string>,
): Promise<string> {
  const { CatalogFile, NameCounter } = db.models;
  return recordOnce(db, submissionId, `name:${slot}`, async (transaction) => {
    const name = await freeCdbsUniqueName(kind.instrument, kind.suffix, kind.ext, now, async (n) =>
      pending.has(n) ||
      !!(await CatalogFile.findOne({ attributes: ['id'], where: { name: n }, transaction })) ||
      !!(await NameCounter.findByPk(`uniqname:${n}`, { transaction })),
    );
    await NameCounter.create({ name: `uniqname:${name}`, counter: 0 }, { transaction });
    return name;
  });
}

/** The site's next delivery id, drawn once per submission. */
export async function assignDeliveryId(db: Database, submissionId: string, observatory: string): Promise<number> {
  return Number(await recordOnce(db, submissionId, 'delivery_id', async (t) => String(await nextCounter(db, `${observatory}_delivery_id`, t))));
}

/** Another mapping made from the same parent as one a submission generated. */
export interface MappingCollision {
  /** The submission's new mapping and the parent it replaces. */
  name: string;
  derivedFrom: string;
  /** The other children of that parent: not yet confirmed, or delivered since `since`. */
  others: { name: string; state: string; delivererUser: string; description: string }[];
}

/**
 * get_collision_list of the original server: for each mapping a submission generated, the
 * other mappings derived from the same parent that are still awaiting confirmation (another
 * submission's) or were delivered after `since` (the submission's start). Confirming anyway
 * would leave one of the two branches out of the rules, so the ready page warns.
 */
export async function mappingCollisions(db: Database, generated: { name: string; derivedFrom: string }[], since: Date): Promise<MappingCollision[]> {
  if (!generated.length) return [];
  const rows = await db.models.CatalogFile.findAll({
    attributes: ['name', 'state', 'derivedFrom', 'delivererUser', 'description'],
    where: {
      type: 'mapping',
      derivedFrom: [...new Set(generated.map((g) => g.derivedFrom))],
      name: { [Op.notIn]: generated.map((g) => g.name) },
      [Op.or]: [{ state: 'uploaded' }, { deliveryDate: { [Op.gte]: since } }],
    },
    order: [['name', 'ASC']],
  });
  return generated
    .map((g) => ({
      name: g.name,
      derivedFrom: g.derivedFrom,
      others: rows
        .filter((r) => r.derivedFrom === g.derivedFrom)
        .map((r) => ({ name: r.name, state: r.state, delivererUser: r.delivererUser ?? '', description: r.description ?? '' })),
    }))
    .filter((c) => c.others.length);
}
