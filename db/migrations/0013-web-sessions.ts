// Server-side web sessions (issue 13 item 7): the cookie holds only a random key; the row,
// found by the key's SHA-256, says who it is, for which instrument lock, and when it was
// last used, so logout, a password change or the lock's release end it at once.
import { DataTypes, type QueryInterface } from 'sequelize';

export async function up({ queryInterface }: { queryInterface: QueryInterface }): Promise<void> {
  await queryInterface.createTable('web_sessions', {
    key_hash: { type: DataTypes.CHAR(64), allowNull: false, primaryKey: true },
    username: { type: DataTypes.STRING(150), allowNull: false },
    instrument: { type: DataTypes.STRING(32), allowNull: false },
    // lockId() of the instrument lock taken at login; null for instrument 'none'.
    lock_id: { type: DataTypes.STRING(255), allowNull: true },
    // A digest of the password hash the session was opened with.
    auth: { type: DataTypes.STRING(64), allowNull: false },
    jpoll_key: { type: DataTypes.STRING(64), allowNull: true },
    created_at: { type: DataTypes.DATE, allowNull: false },
    last_seen_at: { type: DataTypes.DATE, allowNull: false },
  });
  await queryInterface.addIndex('web_sessions', ['username'], { name: 'web_sessions_username' });
  await queryInterface.addIndex('web_sessions', ['last_seen_at'], { name: 'web_sessions_last_seen_at' });
}

export async function down({ queryInterface }: { queryInterface: QueryInterface }): Promise<void> {
  await queryInterface.dropTable('web_sessions');
}
