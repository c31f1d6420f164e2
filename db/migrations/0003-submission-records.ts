// Durable facts of a submission that its activities must find again after a crash: the
// serial names and delivery id it drew, and the steps of its delivery already taken.
import { DataTypes, type QueryInterface } from 'sequelize';

export async function up({ queryInterface }: { queryInterface: QueryInterface }): Promise<void> {
  await queryInterface.createTable('submission_records', {
    submission_id: { type: DataTypes.STRING(128), allowNull: false, primaryKey: true },
    // e.g. `name:hst_cos_xtractab_0250.rmap`, `delivery_id`, `catalog-staged`
    slot: { type: DataTypes.STRING(191), allowNull: false, primaryKey: true },
    value: { type: DataTypes.STRING(255), allowNull: false },
    created_at: { type: DataTypes.DATE, allowNull: false },
  });
}

export async function down({ queryInterface }: { queryInterface: QueryInterface }): Promise<void> {
  await queryInterface.dropTable('submission_records');
}
