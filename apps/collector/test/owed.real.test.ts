/**
 * Issue "a thread's total lost across a SIGKILL" (DESIGN "What is owed is persistent"), against a
 * real `codex app-server` 0.169.0 and the model stand-in (`servedByThread` is the ground truth):
 * a developer ran a turn before the collector started and keeps the thread loaded and idle; the
 * compiled collector meets it (its total is owed: a warm resume replays nothing), writes that
 * obligation, moves "last contact" past the thread's update, and is SIGKILLed. The restarted
 * collector no longer finds the thread by `updatedAt`: only the persisted obligation re-arms the
 * recovery. The developer keeps working on another thread, the socket drops and the collector
 * reconnects (its new scan starts past the thread's update too), then the developer leaves; codex unloads the thread
 * 60 s later and the cold resume brings its total. Pending state is visible (thread, target,
 * usage API, /metrics) before, and cleared after, with totals exact to the token.
 * Takes ~75 s (codex's 60 s unload).
 */

import { startTcpProxy, type TcpProxy, throughProxy } from "@codex-fleet/codex-fakes/tcp-proxy";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { spawnCollector, writeChildConfig } from "./support/collector-child.ts";
import {
  detail,
  dumpScene,
  expectExact,
  expectNothingPending,
  expectPendingShown,
  type OwedScene,
  startOwedScene,
  target,
  turn,
  u,
  usage,
  waitOwedWritten,
} from "./support/owed-scene.ts";

let s: OwedScene;
/** Collector ↔ app-server: cut to drop the socket without a close frame (a reconnect). */
let wsProxy: TcpProxy;

beforeAll(async () => {
  s = await startOwedScene("alice");
  wsProxy = await startTcpProxy({ targetPort: s.app.port });
}, 90_000);

afterEach((ctx) => {
  if (ctx.task.result?.state === "fail") dumpScene(s);
});

afterAll(async () => {
  await s?.dispose();
  await wsProxy?.close();
}, 30_000);

describe("a thread's total owed across a collector SIGKILL (persisted obligation)", () => {
  it("is recovered after the restart and a reconnect once the thread unloads, exact, and shown pending until then", async () => {
    // The developer works before any collector runs, and keeps the thread loaded and idle.
    const early = await s.dev.startThread({ cwd: s.app.cwd });
    await turn(s, early, u(900, 100, 150));
    // `updatedAt` is in whole seconds and the observer allows 2 s of slack: start clearly later.
    await new Promise((r) => setTimeout(r, 3500));

    const config = writeChildConfig({
      dbUrl: s.db.url,
      targets: [
        { name: "alice", team: "payments", url: throughProxy(s.app.url, wsProxy), token: s.app.token },
      ],
    });
    let child = await spawnCollector(config);
    s.child = child;
    // The collector met the thread loaded and idle: its total is owed, in Postgres, and "last
    // contact" has moved past the thread's update (the state that lost 1,050 tokens in the issue).
    await waitOwedWritten(s, early);
    const first = await detail(s, early);
    expect(first?.owedSince).not.toBeNull();
    expect(first?.owedReason).toBe("loadedAtContact");
    expect(first?.counted.totalTokens).toBe(0);

    child.kill("SIGKILL");
    expect(await child.exited).toEqual({ code: null, signal: "SIGKILL" });
    child = await spawnCollector(config);
    s.child = child;
    await waitUntil("alice open again", async () => (await target(s))?.state === "open");

    // Still owed after the restart, since the first contact, and shown as such.
    await expectPendingShown(s, early, first?.owedSince ?? null);

    // Developers keep working: a new thread is counted live, and exactly.
    const later = await s.dev.startThread({ cwd: s.app.cwd });
    await turn(s, later, u(2000, 500, 60, 20));
    await expectExact(s, later, 30_000);
    await waitUntil("the live thread not pending", async () => (await detail(s, later))?.owedSince == null);

    // The socket drops without a close frame and the collector reconnects: the new connection's
    // scan starts from a cutoff past the thread's update, so only the obligation re-arms it.
    wsProxy.cut();
    await waitUntil("alice dropped", async () => (await target(s))?.state !== "open");
    wsProxy.restore();
    await waitUntil("alice open after the drop", async () => (await target(s))?.state === "open");
    expect((await detail(s, early))?.owedSince).toBe(first?.owedSince);

    // The developer leaves: codex unloads the idle thread 60 s later (facts §2); the cold resume
    // replays its total, which is counted and clears the obligation in the same transaction.
    await s.dev.close();
    await expectExact(s, early, 120_000);
    await expectNothingPending(s, early);
    const byTarget = (await usage(s)).rows.find((r) => r.target === "alice");
    expect(byTarget?.totalTokens).toBe(
      (s.mock.servedByThread.get(early)?.totalTokens ?? 0) +
        (s.mock.servedByThread.get(later)?.totalTokens ?? 0),
    );
    await child.stop();
    s.child = null;
  }, 200_000);
});
