import pg from 'pg';
import { postgresDialect as d } from '/work/wt/postgres/dist/src/rsql/postgres/index.js';
import { PgGapStrategy } from '/work/wt/postgres/dist/src/rsql/postgres/gaps.js';
const pool = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
const schema = { table: 'smoke_ev', id: 'id', foreignId: 'foreign_id', timestamp: 'timestamp', type: 'type', metadata: 'metadata', trace: undefined, foreignIdType: 'string' };
const st = d.eventsStatements(schema);
const ex = d.executor(pool);
await ex.execute('drop table if exists smoke_ev');
for (const s of st.createTable) await ex.execute(s);
for (const s of st.createTable) await ex.execute(s);
console.log(await ex.execute(st.insert, ['f1', 5, Buffer.from([1,2,3])]));
await ex.execute(st.insert, ['f2', 6, null]);
const rows = await ex.query(st.selectAfter, [0, 10]);
console.log(rows, rows.map(r => [d.decodeId(r[0]), d.decodeTimestamp(r[2]).toISOString()]));
console.log(await ex.query(st.maxId));
try { await ex.execute(st.insertNoop, [1]); } catch (e) { console.log('dup', d.classifyError(e)); }
const cs = d.cursorsStatements({ table: 'smoke_cur', id: 'id', cursor: 'last_event_id', updatedAt: 'updated_at', cursorType: 'int' });
await ex.execute('drop table if exists smoke_cur');
for (const s of cs.createTable) await ex.execute(s);
console.log(await ex.execute(cs.upsertGreatest(2), ['a', '5', 'b', 7]));
console.log(await ex.execute(cs.upsertGreatest(2), ['a', '3', 'b', 9]));
console.log(await ex.query(cs.select, ['a']), await ex.query(cs.select, ['b']));
console.log(await ex.execute(cs.updateIfGreater, ['6', 'a', '6']), await ex.execute(cs.insertIfAbsent, ['a', '1']));
const es = d.errorsStatements({ table: 'smoke_err', id: 'id', consumer: 'consumer', eventId: 'event_id', message: 'error_msg', createdAt: 'created_at', updatedAt: 'updated_at', status: 'error_status' });
await ex.execute('drop table if exists smoke_err');
for (const s of es.createTable) await ex.execute(s);
console.log(await ex.execute(es.insertIfAbsent, ['c', '12', 'boom', 1]), await ex.execute(es.insertIfAbsent, ['c', '12', 'boom', 1]), await ex.query(es.selectId, ['c', '12']));
// gap
const g = new PgGapStrategy({ fillDelayMs: 0, maxFillRows: 100 });
const ctx = { dialect: d, handle: pool, executor: ex, schema, statements: st, logger: { debug(){}, info(){}, warn(){}, error(){} }, now: () => Date.now(), filled() {}, signal: new AbortController().signal };
const c = await pool.connect(); await c.query('begin'); await c.query(`insert into smoke_ev (foreign_id, timestamp, type) values ('x', now(), 1)`);
await ex.execute(st.insert, ['f4', 6, null]);
console.log('verdict open', await g.resolve({ after: 2, before: 4, firstSeenMs: Date.now() - 1000 }, ctx));
await c.query('rollback'); c.release();
console.log('verdict rolled back', await g.resolve({ after: 2, before: 4, firstSeenMs: Date.now() }, ctx));
// unsafe table
await ex.execute('drop table if exists smoke_bad'); await ex.execute('create table smoke_bad (id bigserial primary key, foreign_id text, timestamp timestamptz, type int)');
const bad = d.eventsStatements({ ...schema, table: 'smoke_bad', metadata: undefined });
try { for (const s of bad.createTable) await ex.execute(s); } catch (e) { console.log('refused:', e.message); }
const g2 = new PgGapStrategy({ fillDelayMs: 0, maxFillRows: 100 });
try { await g2.resolve({ after: 1, before: 3, firstSeenMs: 0 }, { ...ctx, schema: { ...schema, table: 'smoke_bad' } }); } catch (e) { console.log('refused:', e.code, e.message); }
for (const t of ['smoke_ev', 'smoke_cur', 'smoke_err', 'smoke_bad']) await ex.execute(`drop table ${t}`);
await pool.end();
