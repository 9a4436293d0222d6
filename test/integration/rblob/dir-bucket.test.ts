import { bucketContractSuite } from '../../support/rblob-contract.js';
import { dirHarness } from '../../support/rblob-harness.js';
import { blobStreamSuite } from '../../support/rblob-suite.js';

blobStreamSuite('directory', dirHarness);
bucketContractSuite('directory', dirHarness);
