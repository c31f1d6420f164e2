// Stored submission results (table submission_results, migration 0004): the last progress of
// each submission, written when a stage ends, read by the result pages once the workflow has
// finished (or its history is gone), and who may see it.
import { DataTypes, type Model, type ModelStatic } from 'sequelize';
import type { Database } from './index';
import type { SubmissionProgress } from '../workflows/submission-types';

interface SubmissionResultRow extends Model {
  submissionId: string;
  observatory: string;
  username: string;
  instrument: string;
  status: string;
  disposition: string;
  progress: string;
}

function model(db: Database): ModelStatic<SubmissionResultRow> {
  const existing = db.sequelize.models.SubmissionResult as ModelStatic<SubmissionResultRow> | undefined;
  return (
    existing ??
    db.sequelize.define<SubmissionResultRow>(
      'SubmissionResult',
      {
        submissionId: { type: DataTypes.STRING(128), primaryKey: true },
        observatory: DataTypes.STRING(16),
        username: DataTypes.STRING(150),
        instrument: DataTypes.STRING(64),
        status: DataTypes.STRING(32),
        disposition: DataTypes.STRING(32),
        progress: db.sequelize.getDialect() === 'mysql' ? DataTypes.TEXT('long') : DataTypes.TEXT,
      },
      { tableName: 'submission_results', underscored: true },
    )
  );
}

/** Saves (or replaces) a submission's result. */
export async function saveSubmissionResult(db: Database, p: SubmissionProgress): Promise<void> {
  await model(db).upsert({
    submissionId: p.submissionId,
    observatory: p.observatory,
    username: p.username,
    instrument: p.instrument,
    status: p.status,
    disposition: p.disposition,
    progress: JSON.stringify(p),
  });
}

/** The stored result of a submission, or undefined. */
export async function storedSubmissionResult(db: Database, submissionId: string): Promise<SubmissionProgress | undefined> {
  const row = await model(db).findByPk(submissionId);
  return row ? (JSON.parse(row.progress) as SubmissionProgress) : undefined;
}

/**
 * requires_authentication of the original's results: the submitter, a member of one of the
 * submitter's groups, or a superuser may see a submission's result.
 */
export async function maySeeResult(db: Database, username: string, submitter: string): Promise<boolean> {
  if (username === submitter) return true;
  const { User, UserGroup } = db.models;
  const [user, owner] = await Promise.all([User.findOne({ where: { username } }), User.findOne({ where: { username: submitter } })]);
  if (!user || !user.isActive) return false;
  if (user.isSuperuser) return true;
  if (!owner) return false;
  const [mine, theirs] = await Promise.all([UserGroup.findAll({ where: { userId: user.id } }), UserGroup.findAll({ where: { userId: owner.id } })]);
  return mine.some((m) => theirs.some((t) => t.groupId === m.groupId));
}
