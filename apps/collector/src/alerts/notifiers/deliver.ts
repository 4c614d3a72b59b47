/**
 * Deliver one notification through one notifier: attempts with capped, jittered exponential
 * backoff (fresh jitter each time; a receiver's Retry-After is honoured up to the cap), every
 * attempt reported to `onAttempt` for the delivery log. Non-retryable failures (4xx) stop at once.
 */
import { backoffDelayMs } from "../../lib/backoff.ts";
import type { NotificationPayload } from "../views.ts";
import type { GroupNotification } from "./group-payload.ts";
import { asGroupNotification } from "./legacy-payload.ts";
import type { Notifier, SendResult } from "./types.ts";

export interface RetryPolicy {
  maxAttempts: number;
  minBackoffMs: number;
  maxBackoffMs: number;
}

/** One line of the delivery log. */
export interface AttemptRecord {
  attempt: number;
  atMs: number;
  ok: boolean;
  status: number | null;
  error: string | null;
  durationMs: number;
}

export interface DeliverDeps {
  now: () => number;
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  signal?: AbortSignal;
  /**
   * Aborts a request already on the wire. Separate from `signal` so that shutdown can stop retry
   * waits at once yet let a request the receiver may already have accepted finish (otherwise the
   * next collector would deliver it a second time).
   */
  sendSignal?: AbortSignal;
  /** Attempts already made before (an outbox row resumed after a restart). */
  previousAttempts?: number;
  /**
   * Called after every attempt; `final` says no further attempt follows (delivered, a permanent
   * failure, or the last attempt) — false also when a shutdown cut the attempt short.
   */
  onAttempt?: (record: AttemptRecord, final: boolean) => void | Promise<void>;
}

export interface DeliverOutcome {
  ok: boolean;
  attempts: number;
  last: SendResult;
  /** Stopped because `signal` aborted (shutdown): the notification is still owed. */
  aborted: boolean;
}

/** Abortable sleep on the real clock. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Send until delivered, a permanent failure, `maxAttempts`, or abort. A version 1 payload (an
 * outbox row queued before grouped notifications) is sent as a group of one.
 */
export async function deliver(
  notifier: Notifier,
  payload: GroupNotification | NotificationPayload,
  policy: RetryPolicy,
  deps: DeliverDeps,
): Promise<DeliverOutcome> {
  const notification = asGroupNotification(payload, notifier.name);
  let attempt = deps.previousAttempts ?? 0;
  for (;;) {
    attempt++;
    const atMs = deps.now();
    const result = await notifier.send(notification, deps.sendSignal ?? deps.signal);
    // Cut short by shutdown: not the receiver's failure, so the notification stays owed.
    const aborted = !result.ok && (deps.signal?.aborted ?? false);
    const final = !aborted && (result.ok || !result.retryable || attempt >= policy.maxAttempts);
    const record = {
      attempt,
      atMs,
      ok: result.ok,
      status: result.status,
      error: result.error,
      durationMs: result.durationMs,
    };
    await deps.onAttempt?.(record, final);
    if (aborted || final) return { ok: result.ok, attempts: attempt, last: result, aborted };
    const backoff = backoffDelayMs(attempt - 1, policy, deps.random);
    const wait = Math.min(policy.maxBackoffMs, Math.max(backoff, result.retryAfterMs ?? 0));
    await deps.sleep(wait, deps.signal);
    if (deps.signal?.aborted) return { ok: false, attempts: attempt, last: result, aborted: true };
  }
}
