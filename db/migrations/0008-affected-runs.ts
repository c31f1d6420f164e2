// Affected datasets as durable runs (crds-protocol.md §7): each dataset's exposure time
// (DATE-OBS TIME-OBS, as the client's --datasets-since compares it) so get_dataset_ids can
// honour datasets_since; one row per affected-datasets workflow run (activation or preview)
// with its counts; one row per finished batch, written once (a retried batch finds its row,
// so no batch counts twice); and the reprocessing monitor's last handled context.
import { DataTypes, QueryTypes, type QueryInterface } from 'sequelize';

const MIN_DATE = '1900-01-01 00:00:00';

/** matches.get_exptime of a stored header (crds/affected.ts exposureTime, frozen here). */
function exptime(header: Record<string, string>): string {
  for (const [date, time] of [
    ['DATE-OBS', 'TIME-OBS'],
    ['META.OBSERVATION.DATE', 'META.OBSERVATION.TIME'],
    ['META_OBSERVATION_DATE', 'META_OBSERVATION_TIME'],
  ]) {
    if (header[date] !== undefined && header[time] !== undefined) return `${header[date]} ${header[time]}`;
  }
  return MIN_DATE;
}

export async function up({ queryInterface }: { queryInterface: QueryInterface }): Promise<void> {
  const bigText = queryInterface.sequelize.getDialect() === 'mysql' ? DataTypes.TEXT('long') : DataTypes.TEXT;
  await queryInterface.addColumn('datasets', 'exptime', { type: DataTypes.STRING(32), allowNull: false, defaultValue: MIN_DATE });
  const rows = await queryInterface.sequelize.query<{ dataset_id: string; header: string }>('SELECT dataset_id, header FROM datasets', { type: QueryTypes.SELECT });
  for (const row of rows) {
    await queryInterface.bulkUpdate('datasets', { exptime: exptime(JSON.parse(row.header)) }, { dataset_id: row.dataset_id });
  }
  await queryInterface.addIndex('datasets', ['instrument', 'exptime'], { name: 'datasets_instrument_exptime' });

  await queryInterface.createTable('affected_runs', {
    // the Temporal workflow id and run id: affected-<obs>-<old>-<new>[-preview]/<runId>
    run_key: { type: DataTypes.STRING(191), primaryKey: true },
    workflow_id: { type: DataTypes.STRING(160), allowNull: false },
    // activation | preview
    kind: { type: DataTypes.STRING(16), allowNull: false },
    old_context: { type: DataTypes.STRING(128), allowNull: false },
    new_context: { type: DataTypes.STRING(128), allowNull: false },
    // running | completed | failed
    status: { type: DataTypes.STRING(16), allowNull: false },
    started_at: { type: DataTypes.DATE(3), allowNull: false },
    finished_at: { type: DataTypes.DATE(3), allowNull: true },
    datasets: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    affected: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    errors: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    // {instrument: {type: count}} and the plan, as JSON
    summary: { type: DataTypes.TEXT, allowNull: false },
    computation_dir: { type: DataTypes.STRING(128), allowNull: false, defaultValue: '' },
    // the dataset catalog's state when the run read it (count and last change)
    catalog_stamp: { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' },
    requested_by: { type: DataTypes.STRING(150), allowNull: false, defaultValue: '' },
  });
  await queryInterface.addIndex('affected_runs', ['old_context', 'new_context'], { name: 'affected_runs_contexts' });
  await queryInterface.createTable('affected_batches', {
    run_key: { type: DataTypes.STRING(191), primaryKey: true },
    batch_no: { type: DataTypes.INTEGER, primaryKey: true },
    datasets: { type: DataTypes.INTEGER, allowNull: false },
    // JSON: affected compound ids, counts per instrument/type, error lines
    result: { type: bigText, allowNull: false },
    worker: { type: DataTypes.STRING(191), allowNull: false, defaultValue: '' },
    created_at: { type: DataTypes.DATE(3), allowNull: false },
  });
  await queryInterface.createTable('reprocessing_state', {
    name: { type: DataTypes.STRING(64), primaryKey: true },
    value: { type: DataTypes.STRING(255), allowNull: false },
    updated_at: { type: DataTypes.DATE(3), allowNull: false },
  });
}

export async function down({ queryInterface }: { queryInterface: QueryInterface }): Promise<void> {
  await queryInterface.dropTable('reprocessing_state');
  await queryInterface.dropTable('affected_batches');
  await queryInterface.dropTable('affected_runs');
  await queryInterface.removeIndex('datasets', 'datasets_instrument_exptime');
  await queryInterface.removeColumn('datasets', 'exptime');
}
