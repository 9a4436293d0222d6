import { after, describe, it } from 'node:test';
import { sqlCursorsTableSuite, sqlEventsTableSuite } from '../../../src/rsql/testing/index.js';
import { pgHarnessFactory } from '../../support/pg-harness.js';

sqlEventsTableSuite({ describe, it, after }, pgHarnessFactory());
sqlCursorsTableSuite({ describe, it, after }, pgHarnessFactory());
