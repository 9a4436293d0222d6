/** `String.prototype.isWellFormed` and `toWellFormed` (Node 20; the es2023 lib does not type them). */
interface WellFormedString {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/**
 * True when `s` is well-formed UTF-16 (no lone surrogate). Only such a string survives UTF-8, the
 * encoding of every database and of protobuf: the drivers store a lone surrogate as U+FFFD, so two
 * different strings would come back equal and one would come back changed.
 */
export function isWellFormed(s: string): boolean {
  return (s as unknown as WellFormedString).isWellFormed();
}

/** `s` with each lone surrogate replaced by U+FFFD (what UTF-8 would store anyway). */
export function toWellFormed(s: string): string {
  return (s as unknown as WellFormedString).toWellFormed();
}
