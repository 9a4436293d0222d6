import { after, describe, it } from 'node:test';
import { cursorStoreSuite, eventsTableSuite } from '../../../src/testing/index.js';
import { pgHarnessFactory } from '../../support/pg-harness.js';

eventsTableSuite({ describe, it, after }, pgHarnessFactory());
cursorStoreSuite({ describe, it, after }, pgHarnessFactory());
