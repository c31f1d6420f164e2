// Sequelize models over the tables the migrations create. Defined per connection (not as
// global classes) so one process can hold a MySQL and an SQLite database at once.
import {
  DataTypes,
  type CreationOptional,
  type InferAttributes,
  type InferCreationAttributes,
  type Model,
  type ModelStatic,
  type Sequelize,
} from 'sequelize';

export interface UserRow extends Model<InferAttributes<UserRow>, InferCreationAttributes<UserRow>> {
  id: CreationOptional<number>;
  username: string;
  email: CreationOptional<string>;
  firstName: CreationOptional<string>;
  lastName: CreationOptional<string>;
  passwordHash: CreationOptional<string | null>;
  isSuperuser: CreationOptional<boolean>;
  isActive: CreationOptional<boolean>;
}

export interface GroupRow extends Model<InferAttributes<GroupRow>, InferCreationAttributes<GroupRow>> {
  id: CreationOptional<number>;
  name: string;
  description: CreationOptional<string>;
  /** Instruments members may submit for; ['*'] is all. */
  instruments: string[];
}

export interface UserGroupRow extends Model<InferAttributes<UserGroupRow>, InferCreationAttributes<UserGroupRow>> {
  userId: number;
  groupId: number;
}

export interface InstrumentLockRow extends Model<InferAttributes<InstrumentLockRow>, InferCreationAttributes<InstrumentLockRow>> {
  id: CreationOptional<number>;
  type: string;
  name: string;
  username: string;
  createdOn: Date;
  expiresAt: Date;
}

export interface AuditRecordRow extends Model<InferAttributes<AuditRecordRow>, InferCreationAttributes<AuditRecordRow>> {
  id: CreationOptional<number>;
  date: Date;
  username: string;
  action: string;
  filename: CreationOptional<string>;
  observatory: CreationOptional<string>;
  instrument: CreationOptional<string>;
  filekind: CreationOptional<string>;
  why: CreationOptional<string>;
  /** Free-form JSON of what the action did. */
  details: CreationOptional<Record<string, unknown>>;
}

export interface Models {
  User: ModelStatic<UserRow>;
  Group: ModelStatic<GroupRow>;
  UserGroup: ModelStatic<UserGroupRow>;
  InstrumentLock: ModelStatic<InstrumentLockRow>;
  AuditRecord: ModelStatic<AuditRecordRow>;
}

/** A TEXT column holding JSON, so both dialects store it the same way. */
function jsonText(column: string, fallback: unknown) {
  return {
    type: DataTypes.TEXT,
    allowNull: false,
    get(this: Model): unknown {
      const raw = this.getDataValue(column) as string | null;
      return raw ? JSON.parse(raw) : fallback;
    },
    set(this: Model, value: unknown): void {
      this.setDataValue(column, JSON.stringify(value ?? fallback));
    },
  };
}

export function defineModels(sequelize: Sequelize): Models {
  const User = sequelize.define<UserRow>(
    'User',
    {
      id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
      username: { type: DataTypes.STRING(150), allowNull: false, unique: true },
      email: { type: DataTypes.STRING(254), allowNull: false, defaultValue: '' },
      firstName: { type: DataTypes.STRING(150), allowNull: false, defaultValue: '' },
      lastName: { type: DataTypes.STRING(150), allowNull: false, defaultValue: '' },
      passwordHash: { type: DataTypes.STRING(255), allowNull: true },
      isSuperuser: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
      isActive: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
    },
    { tableName: 'users' },
  );
  const Group = sequelize.define<GroupRow>(
    'Group',
    {
      id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
      name: { type: DataTypes.STRING(150), allowNull: false, unique: true },
      description: { type: DataTypes.STRING(255), allowNull: false, defaultValue: '' },
      instruments: jsonText('instruments', []),
    },
    { tableName: 'groups' },
  );
  const UserGroup = sequelize.define<UserGroupRow>(
    'UserGroup',
    {
      userId: { type: DataTypes.INTEGER, primaryKey: true },
      groupId: { type: DataTypes.INTEGER, primaryKey: true },
    },
    { tableName: 'user_groups' },
  );
  User.belongsToMany(Group, { through: UserGroup, foreignKey: 'userId', otherKey: 'groupId', as: 'groups' });
  Group.belongsToMany(User, { through: UserGroup, foreignKey: 'groupId', otherKey: 'userId', as: 'users' });
  const InstrumentLock = sequelize.define<InstrumentLockRow>(
    'InstrumentLock',
    {
      id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
      type: { type: DataTypes.STRING(32), allowNull: false },
      name: { type: DataTypes.STRING(64), allowNull: false },
      username: { type: DataTypes.STRING(150), allowNull: false },
      createdOn: { type: DataTypes.DATE, allowNull: false },
      expiresAt: { type: DataTypes.DATE, allowNull: false },
    },
    { tableName: 'instrument_locks' },
  );
  const AuditRecord = sequelize.define<AuditRecordRow>(
    'AuditRecord',
    {
      id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
      date: { type: DataTypes.DATE, allowNull: false },
      username: { type: DataTypes.STRING(150), allowNull: false },
      action: { type: DataTypes.STRING(64), allowNull: false },
      filename: { type: DataTypes.STRING(255), allowNull: false, defaultValue: '' },
      observatory: { type: DataTypes.STRING(16), allowNull: false, defaultValue: '' },
      instrument: { type: DataTypes.STRING(32), allowNull: false, defaultValue: '' },
      filekind: { type: DataTypes.STRING(32), allowNull: false, defaultValue: '' },
      why: { type: DataTypes.TEXT, allowNull: false, defaultValue: '' },
      details: jsonText('details', {}),
    },
    { tableName: 'audit_records' },
  );
  return { User, Group, UserGroup, InstrumentLock, AuditRecord };
}
