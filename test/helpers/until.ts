// Waiting in tests for something that happens on its own time (a reconnect, a push).

/** Resolves once `check` holds, polling every 10 ms, failing after `ms`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  ms = 2_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
