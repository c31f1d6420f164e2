// Users and groups, instrument locks and the audit trail: the first model set.
import { DataTypes, type QueryInterface } from 'sequelize';

const timestamps = {
  created_at: { type: DataTypes.DATE, allowNull: false },
  updated_at: { type: DataTypes.DATE, allowNull: false },
};

export async function up({ queryInterface }: { queryInterface: QueryInterface }): Promise<void> {
  await queryInterface.createTable('users', {
    id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
    username: { type: DataTypes.STRING(150), allowNull: false, unique: true },
    email: { type: DataTypes.STRING(254), allowNull: false, defaultValue: '' },
    first_name: { type: DataTypes.STRING(150), allowNull: false, defaultValue: '' },
    last_name: { type: DataTypes.STRING(150), allowNull: false, defaultValue: '' },
    password_hash: { type: DataTypes.STRING(255), allowNull: true },
    is_superuser: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    is_active: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
    ...timestamps,
  });
  await queryInterface.createTable('groups', {
    id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
    name: { type: DataTypes.STRING(150), allowNull: false, unique: true },
    description: { type: DataTypes.STRING(255), allowNull: false, defaultValue: '' },
    // JSON list of the instruments members may submit for; ["*"] is every instrument.
    instruments: { type: DataTypes.TEXT, allowNull: false },
    ...timestamps,
  });
  await queryInterface.createTable('user_groups', {
    user_id: {
      type: DataTypes.INTEGER,
      allowNull: false,
      primaryKey: true,
      references: { model: 'users', key: 'id' },
      onDelete: 'CASCADE',
    },
    group_id: {
      type: DataTypes.INTEGER,
      allowNull: false,
      primaryKey: true,
      references: { model: 'groups', key: 'id' },
      onDelete: 'CASCADE',
    },
    ...timestamps,
  });
  await queryInterface.createTable('instrument_locks', {
    id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
    // 'instrument' (a submitter's lock) or 'context' (serialises context generation).
    type: { type: DataTypes.STRING(32), allowNull: false },
    name: { type: DataTypes.STRING(64), allowNull: false },
    username: { type: DataTypes.STRING(150), allowNull: false },
    created_on: { type: DataTypes.DATE, allowNull: false },
    expires_at: { type: DataTypes.DATE, allowNull: false },
    ...timestamps,
  });
  await queryInterface.addIndex('instrument_locks', ['type', 'name'], { unique: true, name: 'instrument_locks_resource' });
  await queryInterface.addIndex('instrument_locks', ['expires_at'], { name: 'instrument_locks_expires_at' });
  await queryInterface.createTable('audit_records', {
    id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
    date: { type: DataTypes.DATE, allowNull: false },
    username: { type: DataTypes.STRING(150), allowNull: false },
    action: { type: DataTypes.STRING(64), allowNull: false },
    filename: { type: DataTypes.STRING(255), allowNull: false, defaultValue: '' },
    observatory: { type: DataTypes.STRING(16), allowNull: false, defaultValue: '' },
    instrument: { type: DataTypes.STRING(32), allowNull: false, defaultValue: '' },
    filekind: { type: DataTypes.STRING(32), allowNull: false, defaultValue: '' },
    why: { type: DataTypes.TEXT, allowNull: false },
    details: { type: DataTypes.TEXT, allowNull: false },
    ...timestamps,
  });
  await queryInterface.addIndex('audit_records', ['date'], { name: 'audit_records_date' });
  await queryInterface.addIndex('audit_records', ['action'], { name: 'audit_records_action' });
}

export async function down({ queryInterface }: { queryInterface: QueryInterface }): Promise<void> {
  await queryInterface.dropTable('audit_records');
  await queryInterface.dropTable('instrument_locks');
  await queryInterface.dropTable('user_groups');
  await queryInterface.dropTable('groups');
  await queryInterface.dropTable('users');
}
