// The original's repeatable results (crds-protocol.md §4.9): each submission's result, saved
// when a stage ends (ready, confirmed, delivered, archived, cancelled, failed), so the result
// pages and the links in mails outlive the workflow's history.
import { DataTypes, type QueryInterface } from 'sequelize';

export async function up({ queryInterface }: { queryInterface: QueryInterface }): Promise<void> {
  await queryInterface.createTable('submission_results', {
    submission_id: { type: DataTypes.STRING(128), allowNull: false, primaryKey: true },
    observatory: { type: DataTypes.STRING(16), allowNull: false },
    username: { type: DataTypes.STRING(150), allowNull: false },
    instrument: { type: DataTypes.STRING(64), allowNull: false },
    status: { type: DataTypes.STRING(32), allowNull: false },
    disposition: { type: DataTypes.STRING(32), allowNull: false, defaultValue: '' },
    // The workflow's progress (SubmissionProgress) as JSON, as the pages show it.
    // LONGTEXT on MySQL; SQLite's TEXT takes no length (and would warn on stdout).
    progress: { type: queryInterface.sequelize.getDialect() === 'mysql' ? DataTypes.TEXT('long') : DataTypes.TEXT, allowNull: false },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
    // Results hold any text of the rules (arrows, names, findings): all of Unicode on MariaDB.
  }, { charset: 'utf8mb4', collate: 'utf8mb4_bin' });
  await queryInterface.addIndex('submission_results', ['username'], { name: 'submission_results_username' });
}

export async function down({ queryInterface }: { queryInterface: QueryInterface }): Promise<void> {
  await queryInterface.dropTable('submission_results');
}
