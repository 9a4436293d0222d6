import type { Gap, GapContext, GapStrategy, GapStrategyOptions, GapVerdict } from '../dialect.js';

/**
 * MySQL/MariaDB gaps: AUTO_INCREMENT ids are allocated at insert and become visible at commit,
 * so a hole below a visible row may be a transaction still open (wait) or rolled back (fill).
 *
 * 1. Look at the hole under READ UNCOMMITTED: any row there belongs to an open (or just
 *    committed) transaction → `'wait'`.
 * 2. Nothing there, and the hole has existed for less than `fillDelayMs` → `'wait'` (covers the
 *    instant between an id's allocation and its row's insert).
 * 3. Otherwise insert a noop row with each missing id. The primary key is the arbiter: a noop
 *    that commits proves no event can ever have that id; a duplicate-key error means the real row
 *    committed (InnoDB makes our insert wait for the writer's lock first). Either way → `'reload'`.
 *    A writer whose id was taken by a noop gets a duplicate-key error from `insert` (never a silent
 *    loss) — possible only if it stalled for `fillDelayMs` between allocating and inserting.
 * Holes wider than `maxFillRows` (purged history, id jumps) are skipped once empty for
 * `fillDelayMs`, without noop rows.
 */
export function mysqlGapStrategy(options: GapStrategyOptions): GapStrategy {
  const resolveMany = async (gaps: readonly Gap[], ctx: GapContext): Promise<GapVerdict[]> => {
    const first = gaps[0];
    const last = gaps[gaps.length - 1];
    if (first === undefined || last === undefined) return [];
    // One READ UNCOMMITTED look over the whole span (rows between the holes come back too).
    const rows = await ctx.dialect.transaction(
      ctx.handle,
      (ex) => ex.query(ctx.statements.selectIdsBetween, [first.after, last.before]),
      { readUncommitted: true },
    );
    const present = rows.map((r) => ctx.dialect.decodeId(r[0]));
    const verdicts: GapVerdict[] = [];
    for (const gap of gaps) {
      verdicts.push(await resolveOne(gap, present, ctx));
    }
    return verdicts;
  };

  const resolveOne = async (
    gap: Gap,
    present: readonly number[],
    ctx: GapContext,
  ): Promise<GapVerdict> => {
    if (present.some((id) => id > gap.after && id < gap.before)) return 'wait';
    if (ctx.now() - gap.firstSeenMs < options.fillDelayMs) return 'wait';
    const size = gap.before - gap.after - 1;
    if (size > options.maxFillRows) {
      ctx.logger.warn('skipping a wide id gap without noop rows', {
        table: ctx.schema.table,
        after: gap.after,
        before: gap.before,
      });
      return 'skip';
    }
    for (let id = gap.after + 1; id < gap.before; id++) {
      ctx.signal.throwIfAborted();
      try {
        await ctx.executor.execute(ctx.statements.insertNoop, [id]);
        ctx.filled(1);
      } catch (err) {
        const kind = ctx.dialect.classifyError(err);
        if (kind === 'duplicate') continue; // the event (or another filler's noop) committed
        if (kind === 'busy') return 'wait'; // lock wait timeout: the writer is still open
        throw err;
      }
    }
    return 'reload';
  };

  return {
    async resolve(gap: Gap, ctx: GapContext): Promise<GapVerdict> {
      return (await resolveMany([gap], ctx))[0] ?? 'wait';
    },
    resolveMany,
  };
}
