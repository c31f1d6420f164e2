// The ReDCaT records (crds-protocol.md §5.4, the original's submission_form Submission): the
// extended form's fields of each ReDCaT submission, and the submission they started.
import { DataTypes, type QueryInterface } from 'sequelize';

export async function up({ queryInterface }: { queryInterface: QueryInterface }): Promise<void> {
  const text = queryInterface.sequelize.getDialect() === 'mysql' ? DataTypes.TEXT('medium') : DataTypes.TEXT;
  await queryInterface.createTable('redcat_submissions', {
    id: { type: DataTypes.INTEGER, allowNull: false, primaryKey: true, autoIncrement: true },
    observatory: { type: DataTypes.STRING(16), allowNull: false },
    username: { type: DataTypes.STRING(150), allowNull: false },
    instrument: { type: DataTypes.STRING(64), allowNull: false },
    // The submission workflow's results id (/display_result/<id>); one record per submission.
    results_id: { type: DataTypes.STRING(128), allowNull: false, unique: true },
    change_level: { type: DataTypes.STRING(16), allowNull: false },
    description: { type: text, allowNull: false },
    // The form's fields as checked, {key: value} in the description's order, as JSON: the
    // form is configured (config/redcat_description.yml), so its fields are not columns.
    fields: { type: text, allowNull: false },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  }, { charset: 'utf8mb4', collate: 'utf8mb4_bin' });
  await queryInterface.addIndex('redcat_submissions', ['created_at'], { name: 'redcat_submissions_created_at' });
}

export async function down({ queryInterface }: { queryInterface: QueryInterface }): Promise<void> {
  await queryInterface.dropTable('redcat_submissions');
}
