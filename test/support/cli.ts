import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The compiled CLI entry point. */
export const cliPath = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** What a CLI run produced. */
export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link reflex}. */
export interface ReflexRunOptions {
  readonly cwd?: string;
  /** Fails the run (kills it) after this many ms. @default 60000 */
  readonly timeoutMs?: number;
  readonly env?: Readonly<Record<string, string>>;
  /** Called with the child once spawned (to send it a signal). */
  readonly onSpawn?: (child: import('node:child_process').ChildProcess) => void;
}

/** Runs `node dist/src/cli/main.js …args` with piped stdio and collects its output. */
export function reflex(
  args: readonly string[],
  options: ReflexRunOptions = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `reflex ${args.join(' ')} did not exit within ${options.timeoutMs ?? 60000}ms\n${stdout}\n${stderr}`,
        ),
      );
    }, options.timeoutMs ?? 60_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    options.onSpawn?.(child);
  });
}

/** The JSON lines of an output, parsed. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
