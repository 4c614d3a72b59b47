/**
 * How fast V8 lets the old generation grow between full collections. By default V8 picks a factor
 * between 1.1 and 4 from how fast it collects against how fast the program allocates, and a
 * collector opening thousands of connections at once looks like a program that needs room: at
 * 10,000 targets the old space was committed to ~420 MB around ~150–250 MB live, and V8 gives
 * committed pages back only in a memory-reducing collection, which an idle collector with
 * thousands of sockets (pings, lease renewals, contact touches) may not trigger for minutes.
 * A fixed factor of 2 keeps the committed heap within twice what is live, at the price of more
 * full collections while the heap grows. 1.5 cut more (23 against 41 KB/target at 10,000) but cost
 * the ingest bench about a third of its throughput (V8 flags are process-wide: the writer
 * thread's heap follows the same factor); see docs/BENCHMARKS.md, "Memory per target, session 10".
 */

/** Old-generation growth between full collections, in percent (V8's `--heap-growing-percent`). */
export const HEAP_GROWING_PERCENT = 100;

/**
 * The V8 flags to set at start: none when node was started with its own `--heap-growing-percent`
 * (an operator's choice wins over ours).
 */
export function heapPolicyFlags(execArgv: readonly string[]): string[] {
  const own = execArgv.some((a) => /^--heap[-_]growing[-_]percent(=|$)/.test(a));
  return own ? [] : [`--heap-growing-percent=${HEAP_GROWING_PERCENT}`];
}
