import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Loads an optional peer dependency synchronously, or returns undefined when it is not installed. */
export function optionalRequire<T>(name: string): T | undefined {
  try {
    return require(name) as T;
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}
