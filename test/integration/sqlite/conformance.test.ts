import { after, describe, it } from 'node:test';
import { sqlCursorsTableSuite, sqlEventsTableSuite } from '../../../src/rsql/testing/index.js';
import { sqliteHarnessFactory } from '../../support/sql-harness.js';

sqlEventsTableSuite({ describe, it, after }, sqliteHarnessFactory());
sqlCursorsTableSuite({ describe, it, after }, sqliteHarnessFactory());
