/** Poll `cond` until it holds; fail with `what` (evaluated at the deadline) after `timeoutMs`. */
export async function waitUntil(
  what: string | (() => string),
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  pollMs = 25,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${typeof what === "string" ? what : what()}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
