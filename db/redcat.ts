// The ReDCaT records (table redcat_submissions, migration 0020): the extended form's fields of
// each ReDCaT submission and the results id of the submission it started (web/redcat.ts).
import { DataTypes, type Model, type ModelStatic } from 'sequelize';
import type { Database } from './index';

/** A field's value as checked: CharField and TypedChoiceField text, BooleanField true/false. */
export type RedcatValue = string | boolean;

export interface RedcatRecord {
  id: number;
  observatory: string;
  username: string;
  instrument: string;
  resultsId: string;
  changeLevel: string;
  description: string;
  /** The form's fields, in the description's order. */
  fields: Record<string, RedcatValue>;
  createdAt: Date;
}

/** The row: the record with its fields as JSON text. */
type RedcatRow = Model & Omit<RedcatRecord, 'fields'> & { fields: string };

function model(db: Database): ModelStatic<RedcatRow> {
  const existing = db.sequelize.models.RedcatSubmission as ModelStatic<RedcatRow> | undefined;
  const text = db.sequelize.getDialect() === 'mysql' ? DataTypes.TEXT('medium') : DataTypes.TEXT;
  return (
    existing ??
    db.sequelize.define<RedcatRow>(
      'RedcatSubmission',
      {
        id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
        observatory: DataTypes.STRING(16),
        username: DataTypes.STRING(150),
        instrument: DataTypes.STRING(64),
        resultsId: DataTypes.STRING(128),
        changeLevel: DataTypes.STRING(16),
        description: text,
        fields: text,
      },
      { tableName: 'redcat_submissions', underscored: true },
    )
  );
}

const recordOf = (row: RedcatRow): RedcatRecord => ({
  id: row.id,
  observatory: row.observatory,
  username: row.username,
  instrument: row.instrument,
  resultsId: row.resultsId,
  changeLevel: row.changeLevel,
  description: row.description,
  fields: JSON.parse(row.fields) as Record<string, RedcatValue>,
  createdAt: row.createdAt,
});

/**
 * Saves the record of a submission once: a repeated POST that found the same submission
 * (same results id) gets the first record back, with created false.
 */
export async function saveRedcatRecord(
  db: Database,
  record: Omit<RedcatRecord, 'id' | 'createdAt'>,
): Promise<{ record: RedcatRecord; created: boolean }> {
  const [row, created] = await model(db).findOrCreate({
    where: { resultsId: record.resultsId },
    defaults: { ...record, fields: JSON.stringify(record.fields) },
  });
  return { record: recordOf(row), created };
}

export async function redcatRecord(db: Database, id: number): Promise<RedcatRecord | undefined> {
  const row = await model(db).findByPk(id);
  return row ? recordOf(row) : undefined;
}

/** The record of the submission `resultsId`, if it came through the ReDCaT form. */
export async function redcatRecordOf(db: Database, resultsId: string): Promise<RedcatRecord | undefined> {
  const row = await model(db).findOne({ where: { resultsId } });
  return row ? recordOf(row) : undefined;
}

/** The newest records first, `limit` of them from `offset`, and how many there are. */
export async function redcatRecords(db: Database, limit: number, offset = 0): Promise<{ records: RedcatRecord[]; total: number }> {
  const { rows, count } = await model(db).findAndCountAll({ order: [['id', 'DESC']], limit, offset });
  return { records: rows.map(recordOf), total: count };
}
