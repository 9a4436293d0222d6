import type { Writable } from 'node:stream';

/** Options of {@link ProgressDisplay}. */
export interface ProgressOptions {
  readonly out: Writable & { isTTY?: boolean };
  /** The lines of the display (on a terminal), computed at each redraw. */
  readonly render: () => readonly string[];
  /** One line for a periodic report when the output is not a terminal. */
  readonly renderLine: () => string;
  /** Redraw period on a terminal, in ms. @default 100 */
  readonly ttyIntervalMs?: number;
  /** Period of the plain lines when not on a terminal, in ms. @default 1000 */
  readonly plainIntervalMs?: number;
}

/**
 * A live display: on a terminal it redraws a block of lines in place; otherwise (piped, CI logs)
 * it prints one plain line per period. `stop()` draws the last state and removes the timer.
 */
export class ProgressDisplay {
  readonly #o: ProgressOptions;
  readonly #tty: boolean;
  #timer: NodeJS.Timeout | undefined;
  #drawn = 0;

  constructor(options: ProgressOptions) {
    this.#o = options;
    this.#tty = options.out.isTTY === true;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    const period = this.#tty ? (this.#o.ttyIntervalMs ?? 100) : (this.#o.plainIntervalMs ?? 1000);
    if (this.#tty) this.#draw();
    this.#timer = setInterval(() => this.#draw(), period);
  }

  /** Stops the timer (on a terminal, after drawing the final state). Idempotent. */
  stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    // Plain lines: what follows (a summary) says the final state; a terminal shows it in place.
    if (this.#tty) this.#draw();
  }

  #draw(): void {
    if (!this.#tty) {
      this.#o.out.write(`${this.#o.renderLine()}\n`);
      return;
    }
    const lines = this.#o.render();
    // Move to the start of the block drawn last time and clear to the end of the screen.
    let text = this.#drawn > 0 ? `\x1b[${this.#drawn}F\x1b[J` : '';
    text += lines.map((l) => `${l}\n`).join('');
    this.#o.out.write(text);
    this.#drawn = lines.length;
  }
}
