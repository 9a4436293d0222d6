import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Runs a compiled support script (path relative to test/support) in a child process and asserts
 * that it exits by itself with status 0 within `timeoutMs`: any timer, socket or listener left
 * running keeps it alive. Returns its standard output.
 */
export function assertExitsByItself(
  script: string,
  args: readonly string[] = [],
  timeoutMs = 20_000,
): string {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const r = spawnSync(process.execPath, [path, ...args], { timeout: timeoutMs, encoding: 'utf8' });
  assert.equal(
    r.error,
    undefined,
    `the child did not exit by itself: ${String(r.error)} (output: ${r.stdout})`,
  );
  assert.equal(r.status, 0, `the child failed: ${r.stderr}`);
  return r.stdout;
}
