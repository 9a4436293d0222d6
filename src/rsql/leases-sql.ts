import type { CursorsSchema, LeasesSchema, LeasesStatements } from './dialect.js';

/** What differs between the dialects in a leases table's statements. */
export interface LeasesFlavour {
  readonly quote: (identifier: string) => string;
  /** The database clock in ms since the epoch, as a BIGINT expression. */
  readonly nowMs: string;
  /** Turns `?` placeholders into the dialect's own (PostgreSQL numbers them). */
  readonly placeholders: (sql: string) => string;
  /** A bound integer parameter (PostgreSQL needs a cast to add it to a BIGINT). */
  readonly intParam: string;
  readonly bigint: string;
  readonly text: string;
  /** `INSERT … VALUES rows` that ignores rows whose key exists. */
  readonly insertIgnore: (table: string, columns: string, rows: string) => string;
  /** `INSERT … VALUES (row)` that on a key conflict sets `assignments` (`col = new value`). */
  readonly upsert: (
    table: string,
    columns: string,
    row: string,
    conflict: string,
    assignments: readonly string[],
  ) => string;
  /** The fenced cursor upsert (see {@link LeasesStatements.fencedUpsert}). */
  readonly fencedUpsert: (cursors: CursorsSchema, leasesTable: string, leaseLive: string) => string;
  /** The suffix of CREATE TABLE (`ENGINE=InnoDB`). */
  readonly tableSuffix: string;
}

export const groupKey = '#group';
export const shardKey = (shard: number): string => `shard:${shard}`;
export const memberKey = (memberId: string): string => `member:${memberId}`;

/** The leases statements of one dialect, from its flavour (one text per dialect and schema). */
export function leasesStatements(schema: LeasesSchema, f: LeasesFlavour): LeasesStatements {
  const q = f.quote;
  const t = q(schema.table);
  const [g, k, h, tok, exp, n] = [
    'group_name',
    'lease_key',
    'holder',
    'token',
    'expires_at',
    'shard_count',
  ].map(q) as [string, string, string, string, string, string];
  const p = f.placeholders;
  const i = f.intParam;
  const list = (count: number): string => Array.from({ length: count }, () => '?').join(', ');
  const live = `${exp} > ${f.nowMs}`;
  return {
    insertAbsent: (count) =>
      p(
        f.insertIgnore(
          t,
          `${g}, ${k}, ${h}, ${tok}, ${exp}, ${n}`,
          Array.from({ length: count }, () => `(?, ?, '', 0, 0, ${i})`).join(', '),
        ),
      ),
    selectShardCount: p(`SELECT ${n} FROM ${t} WHERE ${g} = ? AND ${k} = '${groupKey}'`),
    upsertMember: p(
      f.upsert(
        t,
        `${g}, ${k}, ${h}, ${tok}, ${exp}, ${n}`,
        `?, ?, ?, 0, ${f.nowMs} + ${i}, 0`,
        `${g}, ${k}`,
        [h, exp],
      ),
    ),
    renew: p(`UPDATE ${t} SET ${exp} = ${f.nowMs} + ${i} WHERE ${g} = ? AND ${h} = ? AND ${live}`),
    selectGroup: p(
      `SELECT ${k}, ${h}, ${tok}, CASE WHEN ${live} THEN 1 ELSE 0 END FROM ${t} WHERE ${g} = ?`,
    ),
    selectAll: `SELECT ${g}, ${k}, ${h}, CASE WHEN ${live} THEN 1 ELSE 0 END, ${n} FROM ${t}`,
    acquire: (count) =>
      p(
        `UPDATE ${t} SET ${h} = ?, ${tok} = ${tok} + 1, ${exp} = ${f.nowMs} + ${i} ` +
          `WHERE ${g} = ? AND ${k} IN (${list(count)}) AND (${h} = '' OR ${exp} <= ${f.nowMs})`,
      ),
    selectHeld: p(
      `SELECT ${k}, ${tok} FROM ${t} WHERE ${g} = ? AND ${h} = ? AND ${k} LIKE 'shard:%' AND ${live}`,
    ),
    release: (count) =>
      p(
        `UPDATE ${t} SET ${h} = '', ${exp} = 0 WHERE ${g} = ? AND ${h} = ? AND ${k} IN (${list(count)})`,
      ),
    releaseAll: p(`UPDATE ${t} SET ${h} = '', ${exp} = 0 WHERE ${g} = ? AND ${h} = ?`),
    purgeMembers: p(
      `DELETE FROM ${t} WHERE ${g} = ? AND ${k} LIKE 'member:%' AND ${exp} < ${f.nowMs} - ${i}`,
    ),
    leaseLive: p(
      `SELECT 1 FROM ${t} WHERE ${g} = ? AND ${k} = ? AND ${h} = ? AND ${tok} = ${i} AND ${live}`,
    ),
    fencedUpsert: (cursors) =>
      p(
        f.fencedUpsert(
          cursors,
          t,
          `${t}.${g} = ? AND ${t}.${k} = ? AND ${t}.${h} = ? AND ${t}.${tok} = ${i} AND ${t}.${live}`,
        ),
      ),
    createTable: [
      `CREATE TABLE IF NOT EXISTS ${t} (\n  ${g} ${f.text} NOT NULL,\n  ${k} ${f.text} NOT NULL,\n  ${h} ${f.text} NOT NULL,\n  ${tok} ${f.bigint} NOT NULL,\n  ${exp} ${f.bigint} NOT NULL,\n  ${n} ${f.bigint} NOT NULL,\n  PRIMARY KEY (${g}, ${k})\n)${f.tableSuffix}`,
    ],
  };
}
