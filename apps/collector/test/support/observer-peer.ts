/**
 * A TargetObserver over a real TargetConnection to a scripted peer (the observer unit tests):
 * started at once; `scanned` resolves when its connect-time scan (`onOpen`) has finished.
 */
import { TargetConnection } from "../../src/fleet/connection.ts";
import { type ObserverDeps, type ObserverOptions, TargetObserver } from "../../src/fleet/observer.ts";

export function observeOverPeer(
  url: string,
  options: ObserverOptions,
  deps: ObserverDeps,
): { conn: TargetConnection; observer: TargetObserver; scanned: Promise<void> } {
  let scannedDone!: () => void;
  const scanned = new Promise<void>((r) => {
    scannedDone = r;
  });
  let observer!: TargetObserver;
  const conn = new TargetConnection(
    {
      url,
      token: null,
      connectTimeoutMs: 2000,
      pingIntervalMs: 600_000,
      minBackoffMs: 50,
      maxBackoffMs: 100,
      stableAfterMs: 1000,
      maxPayloadBytes: 64 * 1024,
      requestTimeoutMs: 2000,
      clientVersion: "test",
    },
    {
      onOpen: () => void observer.onOpen().then(scannedDone),
      onEvent: (e) => observer.onEvent(e),
      onStatus: () => {},
    },
  );
  observer = new TargetObserver(conn, options, deps);
  conn.start();
  return { conn, observer, scanned };
}
