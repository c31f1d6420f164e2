// Indexes of the browsing pages (web/browse): the search's keyset pagination walks an index in
// (sort column, id) order; its facet counts scan one covering index instead of the rows; a
// file's audit trail and the activity filters look records up by file, user and instrument.
import type { QueryInterface } from 'sequelize';

const INDEXES: [string, string[], string][] = [
  ['catalog_files', ['delivery_date', 'id'], 'catalog_files_delivery_date'],
  ['catalog_files', ['useafter_date', 'id'], 'catalog_files_useafter_date'],
  ['catalog_files', ['size', 'id'], 'catalog_files_size'],
  ['catalog_files', ['instrument', 'filekind', 'state', 'type', 'rejected', 'blacklisted'], 'catalog_files_facets'],
  // the usual searches: newest first within an instrument, or an instrument's type
  ['catalog_files', ['instrument', 'delivery_date', 'id'], 'catalog_files_instrument_delivery'],
  ['catalog_files', ['instrument', 'filekind', 'delivery_date', 'id'], 'catalog_files_type_delivery'],
  ['catalog_files', ['deliverer_user'], 'catalog_files_deliverer_user'],
  ['catalog_files', ['derived_from'], 'catalog_files_derived_from'],
  ['audit_records', ['filename'], 'audit_records_filename'],
  ['audit_records', ['username'], 'audit_records_username'],
  ['audit_records', ['instrument'], 'audit_records_instrument'],
];

export async function up({ queryInterface }: { queryInterface: QueryInterface }): Promise<void> {
  for (const [table, fields, name] of INDEXES) await queryInterface.addIndex(table, fields, { name });
}

export async function down({ queryInterface }: { queryInterface: QueryInterface }): Promise<void> {
  for (const [table, , name] of INDEXES) await queryInterface.removeIndex(table, name);
}
