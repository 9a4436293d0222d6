/**
 * Waits until `cond` holds, checking every few ms, and fails loudly (naming `what`) after
 * `timeoutMs`: a bounded wait for a condition, never a sleep that makes a test pass.
 */
export async function waitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
