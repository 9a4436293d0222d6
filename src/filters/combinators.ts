import type { EventFilter } from '../core/index.js';

/**
 * AND of filters, evaluated in order: the first filter that returns false or throws decides (a
 * throw propagates). No filters → every event passes.
 */
export function allEventFilters(...filters: EventFilter[]): EventFilter {
  return (event) => {
    for (const f of filters) {
      if (!f(event)) return false;
    }
    return true;
  };
}

/**
 * OR of filters: the first filter that returns true decides. A filter that throws counts as not
 * passing; when none passes, the last error is thrown (or false is returned when none threw).
 * No filters → no event passes.
 */
export function anyEventFilters(...filters: EventFilter[]): EventFilter {
  return (event) => {
    let last: { err: unknown } | undefined;
    for (const f of filters) {
      try {
        if (f(event)) return true;
      } catch (err) {
        last = { err };
      }
    }
    if (last !== undefined) throw last.err;
    return false;
  };
}
