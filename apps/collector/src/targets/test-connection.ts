/**
 * "Test the connection" for the admin UI (issue 17): one attempt with the collector's own guarded
 * connection (fleet/connection.ts) — bearer auth, the SSRF checks, `initialize` and `initialized`
 * only — then close. Nothing else is sent: the connection's allowlist guards the socket, and no
 * request is ever made after the handshake. A failure answers the reason and text a followed
 * target would show (the same uniform texts: the test is no port scanner either).
 */
import { codexVersionFromUserAgent } from "@codex-fleet/protocol/codex-version";
import type { TargetTestResult } from "@codex-fleet/protocol/targets";
import type { Config } from "../config/schema.ts";
import { TargetConnection } from "../fleet/connection.ts";

export interface TestConnectionOptions {
  url: string;
  token: { reveal(): string } | null;
  observer: Config["observer"];
  clientVersion: string;
  /** Upper bound of the whole attempt (default: observer.connectTimeoutMs, at most 15 s). */
  timeoutMs?: number;
  /** Every frame sent (tests: only the handshake may leave). */
  onSent?: (frame: Record<string, unknown>) => void;
}

const MAX_TEST_MS = 15_000;

/** Connect once, initialize, close; resolves with what happened (never rejects). */
export function testTargetConnection(opts: TestConnectionOptions): Promise<TargetTestResult> {
  const startedAt = Date.now();
  const timeoutMs = opts.timeoutMs ?? Math.min(opts.observer.connectTimeoutMs, MAX_TEST_MS);
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: Omit<TargetTestResult, "elapsedMs">) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // After the connection's own handler has run to its end (a backoff arms its retry timer
      // after reporting the status): stop() then clears it too.
      setImmediate(() => connection.stop());
      resolve({ ...r, elapsedMs: Date.now() - startedAt });
    };
    const connection = new TargetConnection(
      {
        url: opts.url,
        token: opts.token,
        ...opts.observer,
        connectTimeoutMs: timeoutMs,
        // One attempt: the first backoff is the answer, so its delay never runs.
        minBackoffMs: 60_000,
        maxBackoffMs: 60_000,
        clientVersion: opts.clientVersion,
      },
      {
        onOpen: () => {
          const userAgent = connection.current.userAgent;
          finish({
            ok: true,
            userAgent,
            codexVersion: codexVersionFromUserAgent(userAgent),
            reason: null,
            error: null,
          });
        },
        onEvent: () => {},
        onStatus: (status) => {
          if (status.state !== "backoff") return;
          finish({
            ok: false,
            userAgent: null,
            codexVersion: null,
            reason: status.reason,
            error: status.error,
          });
        },
        ...(opts.onSent ? { onSent: opts.onSent } : {}),
      },
    );
    // The connection's own timer covers the upgrade and initialize; this one is the backstop.
    const timer = setTimeout(
      () =>
        finish({
          ok: false,
          userAgent: null,
          codexVersion: null,
          reason: "timeout",
          error: `no answer within ${timeoutMs} ms`,
        }),
      timeoutMs + 1000,
    );
    connection.start();
  });
}
