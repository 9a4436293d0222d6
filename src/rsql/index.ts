export {
  type CursorStoreOptions,
  type CursorsTable,
  type CursorsTableOptions,
  newCursorsTable,
  type SqlCursorStore,
} from './cursors-table.js';
export type {
  CursorsSchema,
  Durability,
  ErrorsSchema,
  EventsSchema,
  SqlValue,
} from './dialect.js';
export { RsqlErrorCode } from './error-codes.js';
export {
  type ErrorInsertFunc,
  ErrorStatus,
  type ErrorsTable,
  type ErrorsTableOptions,
  newErrorsTable,
} from './errors-table.js';
export {
  type CreateTableOptions,
  type EventsTable,
  type EventsTableOptions,
  type InsertHandle,
  type InsertOptions,
  type NotifyFunc,
  newEventsTable,
} from './events-table.js';
export {
  type LeasesTable,
  newLeasesTable,
  type ShardGroupHolders,
  type ShardGroupOptions,
  type SqlShardLeases,
} from './leases-table.js';
export type { EventsTableStats } from './metrics.js';
export type { MysqlConnection, MysqlPool, MysqlPoolConnection } from './mysql/index.js';
export type { EventsNotifier, HintSubscription } from './notifier.js';
export {
  type NatsHintConnection,
  type NatsNotifierOptions,
  natsNotifier,
} from './notifiers/nats.js';
export {
  type RedisHintClient,
  type RedisHintSubscriber,
  type RedisNotifierOptions,
  redisNotifier,
} from './notifiers/redis.js';
export type {
  DialectName,
  DrizzleAsyncHandle,
  DrizzleSyncHandle,
  KnexHandle,
  KyselyHandle,
  OrmHandle,
  PrismaHandle,
  SqlExecutor,
  TypeOrmDataSourceHandle,
  TypeOrmManagerHandle,
} from './orm/index.js';
export {
  type PgClient,
  type PgPool,
  type PgPoolClient,
  type PgQueryable,
  type PostgresNotifierOptions,
  postgresNotifier,
} from './postgres/index.js';
export type { SqlDatabase, SqlTransaction } from './sql-handle.js';
export type { SqliteDatabase } from './sqlite/index.js';
