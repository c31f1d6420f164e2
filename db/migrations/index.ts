// Every schema migration, in the order they apply. Append; never edit one that shipped.
import type { QueryInterface, Sequelize } from 'sequelize';
import * as m0001 from './0001-accounts-locks-audit';
import * as m0002 from './0002-catalog';
import * as m0003 from './0003-submission-records';
import * as m0004 from './0004-submission-results';
import * as m0008 from './0008-affected-runs';
import * as m0013 from './0013-web-sessions';
import * as m0016 from './0016-browse-indexes';
import * as m0020 from './0020-redcat-submissions';
import * as m0022 from './0022-browse-filter-indexes';
import * as m0026 from './0026-login-throttle';

export interface Migration {
  name: string;
  up(context: { queryInterface: QueryInterface; sequelize: Sequelize }): Promise<void>;
  down(context: { queryInterface: QueryInterface; sequelize: Sequelize }): Promise<void>;
}

export const migrations: Migration[] = [
  { name: '0001-accounts-locks-audit', ...m0001 },
  { name: '0002-catalog', ...m0002 },
  { name: '0003-submission-records', ...m0003 },
  { name: '0004-submission-results', ...m0004 },
  { name: '0008-affected-runs', ...m0008 },
  { name: '0013-web-sessions', ...m0013 },
  { name: '0016-browse-indexes', ...m0016 },
  { name: '0020-redcat-submissions', ...m0020 },
  { name: '0022-browse-filter-indexes', ...m0022 },
  { name: '0026-login-throttle', ...m0026 },
];
