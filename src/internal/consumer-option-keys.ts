import type { ConsumerOptions } from '../core/index.js';

/** The keys of {@link ConsumerOptions}: patterns that wrap newConsumer pass these through. */
export const consumerOptionKeys: readonly (keyof ConsumerOptions)[] = Object.freeze([
  'includeTypes',
  'filter',
  'recover',
  'lagAlertMs',
  'activityTtlMs',
  'registry',
  'clock',
]);
