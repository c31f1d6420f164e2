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

/** One mapping or reference of the site (crds-protocol.md §3.3, §4.1). */
export interface CatalogFileRow extends Model<InferAttributes<CatalogFileRow>, InferCreationAttributes<CatalogFileRow>> {
  id: CreationOptional<number>;
  name: string;
  state: string;
  rejected: CreationOptional<boolean>;
  blacklisted: CreationOptional<boolean>;
  badReason: CreationOptional<string | null>;
  markedBadBy: CreationOptional<string>;
  markedBadDate: CreationOptional<Date | null>;
  observatory: string;
  instrument: CreationOptional<string>;
  filekind: CreationOptional<string>;
  type: 'mapping' | 'reference';
  derivedFrom: CreationOptional<string>;
  sha1sum: CreationOptional<string>;
  size: CreationOptional<number>;
  deliveryDate: Date;
  activationDate: Date;
  useafterDate: Date;
  changeLevel: CreationOptional<string>;
  pedigree: CreationOptional<string>;
  referenceFileType: CreationOptional<string>;
  uploadedAs: CreationOptional<string>;
  creatorName: CreationOptional<string>;
  delivererUser: CreationOptional<string>;
  delivererEmail: CreationOptional<string>;
  description: CreationOptional<string | null>;
  catalogLink: CreationOptional<string>;
  replacedByFilename: CreationOptional<string>;
  comment: CreationOptional<string | null>;
  aperture: CreationOptional<string>;
  history: CreationOptional<string | null>;
  createdAt: CreationOptional<Date>;
  updatedAt: CreationOptional<Date>;
}

export interface DefaultContextRow extends Model<InferAttributes<DefaultContextRow>, InferCreationAttributes<DefaultContextRow>> {
  state: string;
  context: string;
  updatedAt: CreationOptional<Date>;
}

export interface ContextHistoryRow extends Model<InferAttributes<ContextHistoryRow>, InferCreationAttributes<ContextHistoryRow>> {
  id: CreationOptional<number>;
  startDate: Date;
  context: string;
  state: string;
  description: string;
  username: CreationOptional<string>;
}

export interface BuildContextRow extends Model<InferAttributes<BuildContextRow>, InferCreationAttributes<BuildContextRow>> {
  calver: string;
  context: string;
  username: CreationOptional<string>;
  description: string;
}

export interface RemoteContextRow extends Model<InferAttributes<RemoteContextRow>, InferCreationAttributes<RemoteContextRow>> {
  id: CreationOptional<number>;
  name: string;
  observatory: string;
  kind: string;
  key: string;
  context: CreationOptional<string>;
}

export interface NameCounterRow extends Model<InferAttributes<NameCounterRow>, InferCreationAttributes<NameCounterRow>> {
  name: string;
  counter: number;
}

export interface DatasetRow extends Model<InferAttributes<DatasetRow>, InferCreationAttributes<DatasetRow>> {
  datasetId: string;
  instrument: string;
  header: Record<string, string>;
  /** "DATE-OBS TIME-OBS" (crds/affected.ts exposureTime), for datasets_since. */
  exptime: CreationOptional<string>;
}

export interface AffectedDatasetsRow extends Model<InferAttributes<AffectedDatasetsRow>, InferCreationAttributes<AffectedDatasetsRow>> {
  id: CreationOptional<number>;
  computationDir: string;
  oldContext: string;
  newContext: string;
  affectedIds: string[];
  bestrefsStatus: number;
  bestrefsErr: string;
  createdAt: CreationOptional<Date>;
}

export interface Models {
  User: ModelStatic<UserRow>;
  Group: ModelStatic<GroupRow>;
  UserGroup: ModelStatic<UserGroupRow>;
  InstrumentLock: ModelStatic<InstrumentLockRow>;
  AuditRecord: ModelStatic<AuditRecordRow>;
  CatalogFile: ModelStatic<CatalogFileRow>;
  DefaultContext: ModelStatic<DefaultContextRow>;
  ContextHistory: ModelStatic<ContextHistoryRow>;
  BuildContext: ModelStatic<BuildContextRow>;
  RemoteContext: ModelStatic<RemoteContextRow>;
  NameCounter: ModelStatic<NameCounterRow>;
  Dataset: ModelStatic<DatasetRow>;
  AffectedDatasets: ModelStatic<AffectedDatasetsRow>;
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
  return { User, Group, UserGroup, InstrumentLock, AuditRecord, ...defineCatalogModels(sequelize) };
}

function defineCatalogModels(sequelize: Sequelize) {
  const str = (n = 255, fallback = '') => ({ type: DataTypes.STRING(n), allowNull: false, defaultValue: fallback });
  const CatalogFile = sequelize.define<CatalogFileRow>(
    'CatalogFile',
    {
      id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
      name: { type: DataTypes.STRING(128), allowNull: false, unique: true },
      state: { type: DataTypes.STRING(32), allowNull: false },
      rejected: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
      blacklisted: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
      badReason: { type: DataTypes.TEXT, allowNull: true },
      markedBadBy: str(),
      markedBadDate: { type: DataTypes.DATE, allowNull: true },
      observatory: { type: DataTypes.STRING(16), allowNull: false },
      instrument: str(32),
      filekind: str(32),
      type: { type: DataTypes.STRING(16), allowNull: false },
      derivedFrom: str(),
      sha1sum: str(40, 'none'),
      // BIGINT arrives as a string from mysql2 beyond 2^53; sizes never get there.
      size: {
        type: DataTypes.BIGINT,
        allowNull: false,
        defaultValue: -1,
        get(this: Model): number {
          return Number(this.getDataValue('size'));
        },
      },
      deliveryDate: { type: DataTypes.DATE(6), allowNull: false },
      activationDate: { type: DataTypes.DATE(6), allowNull: false },
      useafterDate: { type: DataTypes.DATE(6), allowNull: false },
      changeLevel: str(16, 'severe'),
      pedigree: str(),
      referenceFileType: str(32),
      uploadedAs: str(),
      creatorName: str(),
      delivererUser: str(),
      delivererEmail: str(),
      description: { type: DataTypes.TEXT, allowNull: true },
      catalogLink: str(),
      replacedByFilename: str(),
      comment: { type: DataTypes.TEXT, allowNull: true },
      aperture: str(255, 'none'),
      history: { type: DataTypes.TEXT, allowNull: true },
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
    },
    { tableName: 'catalog_files' },
  );
  const DefaultContext = sequelize.define<DefaultContextRow>(
    'DefaultContext',
    {
      state: { type: DataTypes.STRING(16), primaryKey: true },
      context: { type: DataTypes.STRING(128), allowNull: false },
      updatedAt: DataTypes.DATE,
    },
    { tableName: 'default_contexts' },
  );
  const ContextHistory = sequelize.define<ContextHistoryRow>(
    'ContextHistory',
    {
      id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
      startDate: { type: DataTypes.DATE(6), allowNull: false },
      context: { type: DataTypes.STRING(128), allowNull: false },
      state: { type: DataTypes.STRING(16), allowNull: false },
      description: { type: DataTypes.TEXT, allowNull: false },
      username: str(),
    },
    { tableName: 'context_history' },
  );
  const BuildContext = sequelize.define<BuildContextRow>(
    'BuildContext',
    {
      calver: { type: DataTypes.STRING(32), primaryKey: true },
      context: { type: DataTypes.STRING(128), allowNull: false },
      username: str(),
      description: { type: DataTypes.TEXT, allowNull: false },
    },
    { tableName: 'build_contexts' },
  );
  const RemoteContext = sequelize.define<RemoteContextRow>(
    'RemoteContext',
    {
      id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
      name: { type: DataTypes.STRING(64), allowNull: false, unique: true },
      observatory: { type: DataTypes.STRING(16), allowNull: false },
      kind: { type: DataTypes.STRING(16), allowNull: false },
      key: { type: DataTypes.STRING(36), allowNull: false },
      context: str(128),
    },
    { tableName: 'remote_contexts' },
  );
  const NameCounter = sequelize.define<NameCounterRow>(
    'NameCounter',
    {
      name: { type: DataTypes.STRING(128), primaryKey: true },
      counter: { type: DataTypes.INTEGER, allowNull: false },
    },
    { tableName: 'name_counters' },
  );
  const Dataset = sequelize.define<DatasetRow>(
    'Dataset',
    {
      datasetId: { type: DataTypes.STRING(128), primaryKey: true },
      instrument: { type: DataTypes.STRING(32), allowNull: false },
      header: jsonText('header', {}),
      exptime: { type: DataTypes.STRING(32), allowNull: false, defaultValue: '1900-01-01 00:00:00' },
    },
    { tableName: 'datasets' },
  );
  const AffectedDatasets = sequelize.define<AffectedDatasetsRow>(
    'AffectedDatasets',
    {
      id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
      computationDir: { type: DataTypes.STRING(128), allowNull: false, unique: true },
      oldContext: { type: DataTypes.STRING(128), allowNull: false },
      newContext: { type: DataTypes.STRING(128), allowNull: false },
      affectedIds: jsonText('affectedIds', []),
      bestrefsStatus: { type: DataTypes.INTEGER, allowNull: false },
      bestrefsErr: { type: DataTypes.TEXT, allowNull: false },
      createdAt: DataTypes.DATE,
    },
    { tableName: 'affected_datasets' },
  );
  return { CatalogFile, DefaultContext, ContextHistory, BuildContext, RemoteContext, NameCounter, Dataset, AffectedDatasets };
}
