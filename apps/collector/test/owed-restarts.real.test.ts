/**
 * Issue 11, the variants of "a thread's total owed across a SIGKILL" (owed.real.test.ts has the
 * main one), each against its own real `codex app-server` 0.169.0, model stand-in and database,
 * the two run concurrently (codex's 60 s unload dominates; ~140 s together):
 *
 * (a) the collector is SIGKILLed during the unload wait — the developer has left, the thread is
 *     loaded and idle, its total owed — and restarted only after codex unloaded the thread: the
 *     `notLoaded` broadcast went to nobody, and the thread was not updated since the last contact,
 *     so only the persisted obligation makes the new process cold-resume it.
 * (b) the collector is SIGKILLed after its cold `thread/resume` was sent (the thread unloaded, the
 *     app-server loaded it again for the collector) but before the replayed total reached
 *     Postgres: the database sits behind a TCP proxy that is cut from the moment the developer
 *     leaves, so no total can be written. The restarted collector finds the thread loaded (by the
 *     dead collector's resume) and owed, waits for codex to unload it again, and cold-resumes it.
 *
 * Both end exact to the token against what the stand-in served, with the obligation visible
 * (thread, target, usage API, /metrics, the row) before and cleared after.
 */
import type { DevClient, Frame } from "@codex-fleet/codex-fakes/dev-client";
import { connectDevClient } from "@codex-fleet/codex-fakes/dev-client";
import { startTcpProxy, throughProxy } from "@codex-fleet/codex-fakes/tcp-proxy";
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
  storedThread,
  target,
  turn,
  u,
  waitOwedWritten,
} from "./support/owed-scene.ts";

let a: OwedScene;
let b: OwedScene;

beforeAll(async () => {
  [a, b] = await Promise.all([startOwedScene("dana"), startOwedScene("erin")]);
}, 90_000);

afterEach((ctx) => {
  if (ctx.task.result?.state === "fail") for (const s of [a, b]) if (s) dumpScene(s);
});

afterAll(async () => {
  await Promise.all([a?.dispose(), b?.dispose()]);
}, 30_000);

const statusIs = (threadId: string, type: string) => (f: Frame) =>
  f.method === "thread/status/changed" &&
  f.params?.threadId === threadId &&
  (f.params.status as { type?: string } | undefined)?.type === type;

/** Another client of the developer's app-server that subscribes to nothing: it sees the status broadcasts. */
const watch = (s: OwedScene): Promise<DevClient> =>
  connectDevClient({ url: s.app.url, token: s.app.token, name: "codex_vscode" });

/**
 * A thread used before any collector runs and left loaded and idle; a watcher connected; then the
 * collector (writing to `dbUrl`) starts, finds the thread owed and writes the obligation, shown pending.
 */
async function owedAtFirstContact(s: OwedScene, dbUrl: string) {
  const id = await s.dev.startThread({ cwd: s.app.cwd });
  await turn(s, id, u(1200, 300, 90, 10));
  // `updatedAt` is in whole seconds and the observer allows 2 s of slack: start clearly later.
  await new Promise((r) => setTimeout(r, 3500));
  const watcher = await watch(s);
  const config = writeChildConfig({
    dbUrl,
    targets: [{ name: s.name, url: s.app.url, token: s.app.token }],
    logLevel: "debug",
  });
  const child = await spawnCollector(config);
  s.child = child;
  await waitOwedWritten(s, id);
  const first = await detail(s, id);
  expect(first?.owedReason).toBe("loadedAtContact");
  expect(first?.counted.totalTokens).toBe(0);
  await expectPendingShown(s, id, first?.owedSince ?? null);
  return { id, watcher, config, first, child };
}

/** Served vs counted, for the report. */
function figures(s: OwedScene, id: string, counted: number | undefined, startedMs: number): void {
  const served = s.mock.servedByThread.get(id)?.totalTokens;
  const secs = ((performance.now() - startedMs) / 1000).toFixed(1);
  console.log(`[${s.name}] thread ${id}: served ${served}, counted ${counted}, ${secs} s`);
}

describe("an owed total across a SIGKILL at the worst moments (real app-server)", () => {
  it.concurrent("(a) killed during the unload wait, restarted after the unload: cold-resumed from the obligation, exact", async () => {
    const started = performance.now();
    const s = a;
    const { id, watcher, config, first, child } = await owedAtFirstContact(s, s.db.url);

    // The developer leaves; codex will unload the idle thread 60 s later. The collector dies
    // a few seconds into that wait.
    await s.dev.close();
    await new Promise((r) => setTimeout(r, 5000));
    child.kill("SIGKILL");
    expect(await child.exited).toEqual({ code: null, signal: "SIGKILL" });
    s.child = null;

    // The unload happens with no collector connected: its broadcast reaches only the watcher.
    const unloaded = await watcher.waitFor(statusIs(id, "notLoaded"), 90_000);
    const after = watcher.frames.indexOf(unloaded);
    const down = await storedThread(s, id);
    expect(down?.owed?.toISOString()).toBe(first?.owedSince);
    expect(Number(down?.counted)).toBe(0);

    // The restarted collector knows the thread only by its obligation (not updated since the last
    // contact): it cold-resumes it at once (the app-server loads it again: idle after notLoaded).
    const restarted = await spawnCollector(config);
    s.child = restarted;
    await expectExact(s, id, 30_000);
    await expectNothingPending(s, id);
    await watcher.waitFor((f) => statusIs(id, "idle")(f) && watcher.frames.indexOf(f) > after, 5000);
    figures(s, id, (await detail(s, id))?.counted.totalTokens, started);
    await watcher.close();
    await restarted.stop();
    s.child = null;
  }, 200_000);

  it.concurrent("(b) killed after the cold resume was sent, before its total was written: recovered after the restart, exact", async () => {
    const started = performance.now();
    const s = b;
    const pgPort = Number(new URL(s.db.url).port || 5432);
    const pg = await startTcpProxy({ targetPort: pgPort });
    try {
      const { id, watcher, config, first, child } = await owedAtFirstContact(s, throughProxy(s.db.url, pg));

      // From here on no write reaches Postgres. The developer leaves; 60 s later codex unloads
      // the thread, the collector sends its cold `thread/resume`, and the app-server loads the
      // thread again for it (the watcher sees notLoaded, then idle).
      pg.cut();
      await s.dev.close();
      const unloaded = await watcher.waitFor(statusIs(id, "notLoaded"), 90_000);
      const after = watcher.frames.indexOf(unloaded);
      await watcher.waitFor((f) => statusIs(id, "idle")(f) && watcher.frames.indexOf(f) > after, 30_000);
      await waitUntil("the collector logged its cold resume", () =>
        child.logLines("cold resume to recover a missed total").some((l) => l.threadId === id),
      );
      // The replay is on its way or in the collector's buffer: it cannot be in the database.
      await new Promise((r) => setTimeout(r, 1000));
      child.kill("SIGKILL");
      expect(await child.exited).toEqual({ code: null, signal: "SIGKILL" });
      s.child = null;
      const down = await storedThread(s, id);
      expect(down?.owed?.toISOString()).toBe(first?.owedSince);
      expect(Number(down?.counted)).toBe(0);

      // The database is back and the collector restarts: the thread is loaded (the dead
      // collector's resume) and owed; it is shown pending until codex unloads it again and the
      // new cold resume brings the total.
      pg.restore();
      const restarted = await spawnCollector(config);
      s.child = restarted;
      await waitUntil("erin open again", async () => (await target(s))?.state === "open");
      await expectPendingShown(s, id, first?.owedSince ?? null);
      await expectExact(s, id, 120_000);
      await expectNothingPending(s, id);
      figures(s, id, (await detail(s, id))?.counted.totalTokens, started);
      await watcher.close();
      await restarted.stop();
      s.child = null;
    } finally {
      await pg.close();
    }
  }, 260_000);
});
