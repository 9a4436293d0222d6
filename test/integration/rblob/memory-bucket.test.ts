import { bucketContractSuite } from '../../support/rblob-contract.js';
import { memoryHarness } from '../../support/rblob-harness.js';
import { blobStreamSuite } from '../../support/rblob-suite.js';

blobStreamSuite('memory', memoryHarness);
bucketContractSuite('memory', memoryHarness);
