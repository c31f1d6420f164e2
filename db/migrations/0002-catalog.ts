// The catalog of the site: every file (mapping or reference) with its lifecycle state,
// the default contexts per state and their dated history, build contexts per calibration
// software version, remote (pipeline) contexts, serial counters for new names, the archive's
// dataset parameters and stored affected-datasets results (crds-protocol.md §4, §7).
import { DataTypes, type QueryInterface } from 'sequelize';

const timestamps = {
  created_at: { type: DataTypes.DATE, allowNull: false },
  updated_at: { type: DataTypes.DATE, allowNull: false },
};
const text = (fallback = '') => ({ type: DataTypes.STRING(255), allowNull: false, defaultValue: fallback });

export async function up({ queryInterface }: { queryInterface: QueryInterface }): Promise<void> {
  // MEDIUMTEXT on MySQL (TEXT stops at 64 KB); SQLite's TEXT has no size options.
  const bigText = queryInterface.sequelize.getDialect() === 'mysql' ? DataTypes.TEXT('medium') : DataTypes.TEXT;
  await queryInterface.createTable('catalog_files', {
    id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
    name: { type: DataTypes.STRING(128), allowNull: false, unique: true },
    // uploaded, delivered, submitted, archiving, archiving-failed, archived, operational, cancelled
    state: { type: DataTypes.STRING(32), allowNull: false },
    // Explicitly marked bad (rejected) / bad because it names a rejected mapping (blacklisted).
    rejected: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    blacklisted: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    bad_reason: { type: DataTypes.TEXT, allowNull: true },
    marked_bad_by: text(),
    marked_bad_date: { type: DataTypes.DATE, allowNull: true },
    observatory: { type: DataTypes.STRING(16), allowNull: false },
    instrument: { type: DataTypes.STRING(32), allowNull: false, defaultValue: '' },
    filekind: { type: DataTypes.STRING(32), allowNull: false, defaultValue: '' },
    // 'mapping' or 'reference'
    type: { type: DataTypes.STRING(16), allowNull: false },
    derived_from: text(),
    sha1sum: { type: DataTypes.STRING(40), allowNull: false, defaultValue: 'none' },
    size: { type: DataTypes.BIGINT, allowNull: false, defaultValue: -1 },
    delivery_date: { type: DataTypes.DATE(6), allowNull: false },
    activation_date: { type: DataTypes.DATE(6), allowNull: false },
    useafter_date: { type: DataTypes.DATE(6), allowNull: false },
    change_level: { type: DataTypes.STRING(16), allowNull: false, defaultValue: 'severe' },
    pedigree: text(),
    reference_file_type: { type: DataTypes.STRING(32), allowNull: false, defaultValue: '' },
    uploaded_as: text(),
    creator_name: text(),
    deliverer_user: text(),
    deliverer_email: text(),
    description: { type: DataTypes.TEXT, allowNull: true },
    catalog_link: text(),
    replaced_by_filename: text(),
    comment: { type: DataTypes.TEXT, allowNull: true },
    aperture: text('none'),
    history: { type: DataTypes.TEXT, allowNull: true },
    ...timestamps,
  });
  await queryInterface.addIndex('catalog_files', ['type', 'state'], { name: 'catalog_files_type_state' });
  await queryInterface.addIndex('catalog_files', ['rejected'], { name: 'catalog_files_rejected' });

  await queryInterface.createTable('default_contexts', {
    // latest (alias operational), edit, versions
    state: { type: DataTypes.STRING(16), primaryKey: true },
    context: { type: DataTypes.STRING(128), allowNull: false },
    ...timestamps,
  });
  await queryInterface.createTable('context_history', {
    id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
    start_date: { type: DataTypes.DATE(6), allowNull: false },
    context: { type: DataTypes.STRING(128), allowNull: false },
    state: { type: DataTypes.STRING(16), allowNull: false },
    description: { type: DataTypes.TEXT, allowNull: false },
    username: text(),
    ...timestamps,
  });
  await queryInterface.addIndex('context_history', ['state', 'start_date'], { name: 'context_history_state_date' });
  await queryInterface.createTable('build_contexts', {
    // calibration software version X.Y.Z
    calver: { type: DataTypes.STRING(32), primaryKey: true },
    context: { type: DataTypes.STRING(128), allowNull: false },
    username: text(),
    description: { type: DataTypes.TEXT, allowNull: false },
    ...timestamps,
  });
  await queryInterface.createTable('remote_contexts', {
    id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
    // pipeline name
    name: { type: DataTypes.STRING(64), allowNull: false, unique: true },
    observatory: { type: DataTypes.STRING(16), allowNull: false },
    kind: { type: DataTypes.STRING(16), allowNull: false },
    key: { type: DataTypes.STRING(36), allowNull: false },
    context: { type: DataTypes.STRING(128), allowNull: false, defaultValue: '' },
    ...timestamps,
  });
  await queryInterface.createTable('name_counters', {
    name: { type: DataTypes.STRING(128), primaryKey: true },
    counter: { type: DataTypes.INTEGER, allowNull: false },
    ...timestamps,
  });
  await queryInterface.createTable('datasets', {
    // compound id PRODUCT:EXPOSURE, upper case
    dataset_id: { type: DataTypes.STRING(128), primaryKey: true },
    instrument: { type: DataTypes.STRING(32), allowNull: false },
    // JSON object of the archive's matching parameters
    header: { type: bigText, allowNull: false },
    ...timestamps,
  });
  await queryInterface.addIndex('datasets', ['instrument'], { name: 'datasets_instrument' });
  await queryInterface.createTable('affected_datasets', {
    id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
    // <timestamp>_<oldserial>_<newserial>, as the original's results directories
    computation_dir: { type: DataTypes.STRING(128), allowNull: false, unique: true },
    old_context: { type: DataTypes.STRING(128), allowNull: false },
    new_context: { type: DataTypes.STRING(128), allowNull: false },
    affected_ids: { type: bigText, allowNull: false },
    bestrefs_status: { type: DataTypes.INTEGER, allowNull: false },
    bestrefs_err: { type: bigText, allowNull: false },
    ...timestamps,
  });
}

export async function down({ queryInterface }: { queryInterface: QueryInterface }): Promise<void> {
  for (const table of [
    'affected_datasets',
    'datasets',
    'name_counters',
    'remote_contexts',
    'build_contexts',
    'context_history',
    'default_contexts',
    'catalog_files',
  ]) {
    await queryInterface.dropTable(table);
  }
}
