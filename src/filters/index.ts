export { allEventFilters, anyEventFilters } from './combinators.js';
export { FiltersErrorCode } from './error-codes.js';
export { metadataEventFilter } from './metadata-filter.js';
