// The identifier rules live in internal/ so the CLI checks command-line names with the same ones.
export { quoteParts, validateIdentifier } from '../internal/sql-names.js';
