import { after, describe, it } from 'node:test';
import { cursorStoreSuite, eventsTableSuite } from '../../../src/testing/index.js';
import { mysqlHarnessFactory } from '../../support/sql-harness.js';

eventsTableSuite({ describe, it, after }, mysqlHarnessFactory());
cursorStoreSuite({ describe, it, after }, mysqlHarnessFactory());
