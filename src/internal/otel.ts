import type * as OtelApi from '@opentelemetry/api';
import { optionalRequire } from './optional-require.js';

let loaded = false;
let api: typeof OtelApi | undefined;

/** @opentelemetry/api when the application has it installed, else undefined (tracing is off). */
export function otel(): typeof OtelApi | undefined {
  if (!loaded) {
    api = optionalRequire<typeof OtelApi>('@opentelemetry/api');
    loaded = true;
  }
  return api;
}
