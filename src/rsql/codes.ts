/**
 * The code of an error refusing a table or a session that would bend data: a PostgreSQL events
 * table whose id default makes gap resolution unsafe (see docs/postgres.md), a MySQL cursors or
 * errors table whose collation folds names (`mailer` = `Mailer` = `mailer `), or a MySQL session
 * without strict mode. The message names the fix.
 */
export const ERR_REFLEX_UNSAFE_SCHEMA = 'ERR_REFLEX_UNSAFE_SCHEMA';
