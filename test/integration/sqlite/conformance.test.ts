import { after, describe, it } from 'node:test';
import { cursorStoreSuite, eventsTableSuite } from '../../../src/testing/index.js';
import { sqliteHarnessFactory } from '../../support/sql-harness.js';

eventsTableSuite({ describe, it, after }, sqliteHarnessFactory());
cursorStoreSuite({ describe, it, after }, sqliteHarnessFactory());
