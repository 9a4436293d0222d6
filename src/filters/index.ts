export { allEventFilters, anyEventFilters } from './combinators.js';
export { metadataEventFilter } from './metadata-filter.js';
