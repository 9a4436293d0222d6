import { after, describe, it } from 'node:test';
import { sqlCursorsTableSuite, sqlEventsTableSuite } from '../../../src/rsql/testing/index.js';
import { mysqlHarnessFactory } from '../../support/sql-harness.js';

sqlEventsTableSuite({ describe, it, after }, mysqlHarnessFactory());
sqlCursorsTableSuite({ describe, it, after }, mysqlHarnessFactory());
