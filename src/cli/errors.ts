import { codeOf } from '../core/index.js';

/** Exit codes of the `reflex` command. */
export const ExitCode = {
  ok: 0,
  /** Something failed at run time: a server unreachable, a query refused, a check that failed. */
  runtime: 1,
  /** The command line is wrong: an unknown option, a malformed URL or duration. */
  usage: 2,
} as const;

/**
 * An error the CLI reports as one line and an exit code. Commands throw {@link usageError} for a
 * bad command line and {@link runtimeError} for anything that went wrong afterwards.
 */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(exitCode: number, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** A bad command line: exit code 2. */
export function usageError(message: string): CliError {
  return new CliError(ExitCode.usage, message);
}

/** A failure at run time: exit code 1. The cause is shown with `--debug`. */
export function runtimeError(message: string, cause?: unknown): CliError {
  return new CliError(ExitCode.runtime, message, cause);
}

/** One line for an error: its message, its reflex code when it has one, and its cause's message. */
export function describeError(err: unknown): string {
  if (err instanceof CliError) {
    const cause = err.cause;
    if (cause === undefined) return err.message;
    return `${err.message}: ${oneLine(cause)}`;
  }
  return oneLine(err);
}

function oneLine(err: unknown): string {
  let message: string;
  if (err instanceof AggregateError && err.errors.length > 0) {
    // net.connect with several addresses (IPv4 and IPv6) fails with an AggregateError.
    message = err.errors
      .map((e: unknown) => (e instanceof Error ? e.message : String(e)))
      .join('; ');
  } else if (err instanceof Error) {
    message = err.message || err.name;
    if (message === '' && 'code' in err) message = String(err.code);
  } else {
    message = String(err);
  }
  const code = codeOf(err);
  const firstLine = message.split('\n')[0] ?? message;
  return code === undefined || firstLine.includes(code) ? firstLine : `${firstLine} [${code}]`;
}

/** The full story for `--debug`: every error of the cause chain with its stack. */
export function debugDetails(err: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (current !== undefined && current !== null && !seen.has(current)) {
    seen.add(current);
    parts.push(current instanceof Error ? (current.stack ?? String(current)) : String(current));
    current = current instanceof Error ? current.cause : undefined;
    if (current !== undefined) parts.push('caused by:');
  }
  return parts.join('\n');
}
