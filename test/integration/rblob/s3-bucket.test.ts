import { bucketContractSuite } from '../../support/rblob-contract.js';
import { s3Harness } from '../../support/rblob-harness.js';
import { blobStreamSuite } from '../../support/rblob-suite.js';

blobStreamSuite('S3 (local S3-compatible server)', s3Harness);
bucketContractSuite('S3 (local S3-compatible server)', s3Harness);
