// core's entry for its sibling packages: helpers every source shares (cursor and int64 parsing,
// the numeric event type) that are not public API (not in package.json's exports; see
// docs/architecture.md). Applications use index.ts.
export { parseInt64, parseIntCursor, typeNumber } from './event.js';
