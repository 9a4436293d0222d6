import pg from 'pg';

/**
 * A pg pool on the test server. Idle clients whose backend was terminated report on the pool's
 * 'error' event: a pool without a listener would crash the process, so tests (and applications)
 * attach one.
 */
export function pgPool(url: string, max = 10, applicationName?: string): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    ...(applicationName === undefined ? {} : { application_name: applicationName }),
  });
  pool.on('error', () => {});
  return pool;
}
