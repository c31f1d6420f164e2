// Every schema migration, in the order they apply. Append; never edit one that shipped.
import type { QueryInterface, Sequelize } from 'sequelize';
import * as m0001 from './0001-accounts-locks-audit';
import * as m0002 from './0002-catalog';
import * as m0003 from './0003-submission-records';
import * as m0008 from './0008-affected-runs';

export interface Migration {
  name: string;
  up(context: { queryInterface: QueryInterface; sequelize: Sequelize }): Promise<void>;
  down(context: { queryInterface: QueryInterface; sequelize: Sequelize }): Promise<void>;
}

export const migrations: Migration[] = [
  { name: '0001-accounts-locks-audit', ...m0001 },
  { name: '0002-catalog', ...m0002 },
  { name: '0003-submission-records', ...m0003 },
  { name: '0008-affected-runs', ...m0008 },
];
