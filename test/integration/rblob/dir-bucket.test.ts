import { dirHarness } from '../../support/rblob-harness.js';
import { blobStreamSuite } from '../../support/rblob-suite.js';

blobStreamSuite('directory', dirHarness);
