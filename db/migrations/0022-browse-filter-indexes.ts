// Indexes for the browse filters that 0016 left to a walk of the date index (issue #14, bench/web
// on a million rows): a rare state (uploaded, archiving-failed) newest first, and one
// submitter's files newest first (the submitter index alone made MariaDB sort all of a
// prolific submitter's rows; the new one starts with it, so the old one goes).
import type { QueryInterface } from 'sequelize';

const INDEXES: [string, string[], string][] = [
  ['catalog_files', ['state', 'delivery_date', 'id'], 'catalog_files_state_delivery'],
  ['catalog_files', ['deliverer_user', 'delivery_date', 'id'], 'catalog_files_deliverer_delivery'],
];

export async function up({ queryInterface }: { queryInterface: QueryInterface }): Promise<void> {
  for (const [table, fields, name] of INDEXES) await queryInterface.addIndex(table, fields, { name });
  await queryInterface.removeIndex('catalog_files', 'catalog_files_deliverer_user');
}

export async function down({ queryInterface }: { queryInterface: QueryInterface }): Promise<void> {
  await queryInterface.addIndex('catalog_files', ['deliverer_user'], { name: 'catalog_files_deliverer_user' });
  for (const [table, , name] of INDEXES) await queryInterface.removeIndex(table, name);
}
