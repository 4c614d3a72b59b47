/**
 * Scenario 5 — observer footprint on the real app-server 0.169.0: the same turns are watched by
 * the developer's own full client (no opt-outs) and by a collector process; a metering proxy in
 * front of each counts the WebSocket frames and bytes the client receives. Per turn, the
 * collector's share of the full client's traffic is the footprint. The model stand-in streams one
 * delta per token, as the real API does (a reply of 300 output tokens is 300 deltas). A third,
 * minimal observer that also opts out of the notifications the collector reads nothing from
 * (item lifecycles, read state, goals) shows what such opt-outs would save.
 */

import { startAppServer } from "@codex-fleet/codex-fakes/app-server";
import { connectDevClient } from "@codex-fleet/codex-fakes/dev-client";
import { type StreamStep, startStreamingModel } from "@codex-fleet/codex-fakes/streaming-model";
import { createTestDatabase } from "@codex-fleet/db/testing";
import { OPT_OUT_NOTIFICATION_METHODS } from "@codex-fleet/protocol/wire";
import { scrape, startBenchCollector, waitOpen } from "../lib/collector-proc.ts";
import { load, round } from "../lib/machine.ts";
import { sleep, waitFor } from "../lib/stats.ts";
import { startWsMeter, type WsMeterCounts } from "../lib/ws-meter.ts";

/** Notifications the collector receives but reads nothing from (see thread-state.ts, IGNORED_METHODS). */
export const UNREAD_NOTIFICATIONS = [
  "item/started",
  "item/completed",
  "thread/readState/changed",
  "thread/goal/cleared",
];

export interface FootprintOptions {
  turns: number;
}

export interface FootprintResult {
  turns: number;
  fullClient: { framesPerTurn: number; bytesPerTurn: number };
  collector: { framesPerTurn: number; bytesPerTurn: number };
  frameRatio: number;
  byteRatio: number;
  /** A minimal observer that also opts out of UNREAD_NOTIFICATIONS. */
  leanObserver: { framesPerTurn: number; bytesPerTurn: number; frameRatio: number; byteRatio: number };
  load: number[];
}

const diff = (a: WsMeterCounts, b: WsMeterCounts) => ({
  frames: a.dataFrames - b.dataFrames,
  bytes: a.bytes - b.bytes,
});

/** Run `turns` turns (every other one calls the shell tool) and meter both clients. */
export async function runFootprint(opts: FootprintOptions): Promise<FootprintResult> {
  const mock = await startStreamingModel();
  const server = await startAppServer({ modelUrl: mock.baseUrl, name: "bench-footprint" });
  const devMeter = await startWsMeter(server.port);
  const colMeter = await startWsMeter(server.port);
  const leanMeter = await startWsMeter(server.port);
  const db = await createTestDatabase();
  try {
    // The developer's client initializes first (it brands the server: facts "Surprises").
    const dev = await connectDevClient({
      url: `ws://127.0.0.1:${devMeter.port}`,
      token: server.token,
      name: "codex_vscode",
    });
    // The lean observer: the collector's subscription rule (resume when a thread turns active).
    const resumed = new Set<string>();
    let lean: Awaited<ReturnType<typeof connectDevClient>> | null = null;
    lean = await connectDevClient({
      url: `ws://127.0.0.1:${leanMeter.port}`,
      token: server.token,
      name: "lean_observer",
      capabilities: {
        experimentalApi: true,
        optOutNotificationMethods: [...OPT_OUT_NOTIFICATION_METHODS, ...UNREAD_NOTIFICATIONS],
      },
      onFrame: (dir, f) => {
        const p = f.params as { threadId?: string; status?: { type?: string } } | undefined;
        if (dir !== "in" || f.method !== "thread/status/changed" || p?.status?.type !== "active") return;
        if (!p.threadId || resumed.has(p.threadId)) return;
        resumed.add(p.threadId);
        void lean?.request("thread/resume", { threadId: p.threadId, excludeTurns: true });
      },
    });
    const collector = await startBenchCollector({
      dbUrl: db.url,
      targets: [{ name: "dev", team: "bench", url: `ws://127.0.0.1:${colMeter.port}`, token: server.token }],
    });
    try {
      await waitOpen(collector, 1, 60_000);
      const threadId = await dev.startThread({ cwd: server.cwd });
      await sleep(500);
      const dev0 = devMeter.snapshot();
      const col0 = colMeter.snapshot();
      const lean0 = leanMeter.snapshot();
      const text = (tokens: number) => "Updated the handler and its tests. ".repeat(40).slice(0, tokens * 4);
      for (let i = 0; i < opts.turns; i++) {
        const context = 9000 + 1500 * i;
        const usage = (output: number) => ({ input: context, cached: context - 400, output, reasoning: 60 });
        // The model answers after 300 ms: time for the observer's thread/resume on `active` (facts §1).
        const steps: StreamStep[] =
          i % 2 === 1
            ? [
                { kind: "toolCall", command: "echo footprint", usage: usage(40), delayMs: 300 },
                { kind: "reply", usage: usage(200), text: text(200), delayMs: 50 },
              ]
            : [{ kind: "reply", usage: usage(300), text: text(300), delayMs: 300 }];
        mock.push(...steps);
        await dev.waitForTurnCompleted(threadId, await dev.startTurn(threadId, `bench turn ${i}`));
      }
      const served = mock.servedTokens;
      await waitFor(
        async () => {
          const m = await scrape(collector.baseUrl);
          return (m.get('codex_fleet_notifications_total{method="tokenUsage"}') ?? 0) > 0 ? true : undefined;
        },
        { timeoutMs: 10_000, what: "the collector to see token usage" },
      );
      await sleep(1000); // late frames (readState, status) of the last turn
      const d = diff(devMeter.snapshot(), dev0);
      const c = diff(colMeter.snapshot(), col0);
      const l = diff(leanMeter.snapshot(), lean0);
      if (process.env.BENCH_VERBOSE)
        process.stderr.write(
          `${JSON.stringify({ dev: devMeter.snapshot().byMethod, collector: colMeter.snapshot().byMethod, lean: leanMeter.snapshot().byMethod }, null, 1)}\n`,
        );
      await dev.close();
      await lean.close();
      const per = (x: number) => round(x / opts.turns, 1);
      if (served <= 0) throw new Error("the mock model served nothing");
      return {
        turns: opts.turns,
        fullClient: { framesPerTurn: per(d.frames), bytesPerTurn: per(d.bytes) },
        collector: { framesPerTurn: per(c.frames), bytesPerTurn: per(c.bytes) },
        frameRatio: round(c.frames / d.frames, 3),
        byteRatio: round(c.bytes / d.bytes, 3),
        leanObserver: {
          framesPerTurn: per(l.frames),
          bytesPerTurn: per(l.bytes),
          frameRatio: round(l.frames / d.frames, 3),
          byteRatio: round(l.bytes / d.bytes, 3),
        },
        load: load(),
      };
    } finally {
      await collector.stop();
    }
  } finally {
    await devMeter.close();
    await colMeter.close();
    await leanMeter.close();
    await server.dispose();
    await mock.close();
    await db.drop();
  }
}
