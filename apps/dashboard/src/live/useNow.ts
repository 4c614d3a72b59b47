/** One shared 1 s clock for ticking ages ("waiting 3m 12s"), corrected to the server's clock. */
import { useSyncExternalStore } from "react";

const TICK_MS = 1000;
const listeners = new Set<() => void>();
let timer: ReturnType<typeof setInterval> | null = null;
let offsetMs = 0;
let current = Date.now();

function tick(): void {
  current = Date.now() + offsetMs;
  for (const listener of listeners) listener();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  if (timer === null) {
    current = Date.now() + offsetMs;
    timer = setInterval(tick, TICK_MS);
  }
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && timer !== null) {
      clearInterval(timer);
      timer = null;
    }
  };
}

function read(): number {
  return current;
}

/**
 * Tell the clock how far the collector's clock is ahead of this browser's (from the live
 * snapshot's `serverTimeMs`), so ages computed from server timestamps never go negative.
 */
export function setServerClockOffset(ms: number): void {
  if (ms === offsetMs) return;
  offsetMs = ms;
  tick();
}

/** Server-corrected "now" in epoch ms, read once (no re-render). */
export function serverNow(): number {
  return Date.now() + offsetMs;
}

/** Server-corrected "now" in epoch ms, re-rendering the caller once a second. */
export function useNow(): number {
  return useSyncExternalStore(subscribe, read, read);
}
