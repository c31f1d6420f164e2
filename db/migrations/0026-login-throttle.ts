// Failed-login counts shared by every web process (issue 13 item 8): one row per throttled key
// (a client address or an account, prefixed by the limiter), its hits in the current window
// and when the window ends.
import { DataTypes, type QueryInterface } from 'sequelize';

export async function up({ queryInterface }: { queryInterface: QueryInterface }): Promise<void> {
  await queryInterface.createTable('login_throttle', {
    key: { type: DataTypes.STRING(191), allowNull: false, primaryKey: true },
    hits: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    // When the window ends, in milliseconds since the epoch: compared in SQL the same way on
    // both dialects (their date texts differ).
    reset_ms: { type: DataTypes.BIGINT, allowNull: false },
  });
  await queryInterface.addIndex('login_throttle', ['reset_ms'], { name: 'login_throttle_reset_ms' });
}

export async function down({ queryInterface }: { queryInterface: QueryInterface }): Promise<void> {
  await queryInterface.dropTable('login_throttle');
}
