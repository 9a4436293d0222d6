/**
 * Where a consumer's position in a stream is kept. `setCursor` may buffer; `flush` writes what is
 * buffered. `run` calls `setCursor` only after the consumer succeeded, and `flush` on every exit.
 */
export interface CursorStore {
  /** The stored cursor of `name`, or '' when there is none. */
  getCursor(name: string): Promise<string>;
  /** Records that `name` has consumed every event up to and including `cursor`. */
  setCursor(name: string, cursor: string): Promise<void>;
  /** Writes every buffered cursor. */
  flush(): Promise<void>;
}
