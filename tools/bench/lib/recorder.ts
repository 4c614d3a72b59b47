/**
 * Records what an ideal observer receives from a simulated fleet: each simulated app-server gets
 * an in-process client with the collector's opt-outs that subscribes to a thread the moment it
 * turns active (no round trip, so nothing is missed), while the developers replay history at an
 * unbounded clock speed. The frames are kept per server, in order, as the bytes on the wire, so
 * that the ingest bench can replay the very same stream to the collector and to a bare client.
 */

import type { WireTokenCounts } from "@codex-fleet/codex-fakes/simulator";
import { startSimulatedFleet } from "@codex-fleet/codex-fakes/simulator";
import { OPT_OUT_NOTIFICATION_METHODS } from "@codex-fleet/protocol/wire";

/** One simulated server's recorded stream. */
export interface RecordedServer {
  name: string;
  team: string;
  /** The `initialize` result to answer with (its userAgent names the server's platform). */
  initializeResult: unknown;
  frames: Buffer[];
}

/** The whole recording and its ground truth. */
export interface Recording {
  servers: RecordedServer[];
  frames: number;
  bytes: number;
  /** `turn/completed` frames: turns that ended. */
  turns: number;
  /** `thread/tokenUsage/updated` frames. */
  usageFrames: number;
  /** Every token served (sum over threads of the final cumulative total). */
  served: WireTokenCounts;
  recordMs: number;
}

interface Parsed {
  id?: number;
  method?: string;
  result?: unknown;
  params?: { threadId?: string; status?: { type?: string } };
}

const DAY = 86_400_000;

/**
 * The start of the latest Saturday (UTC) at least 15 minutes before `nowMs`: the history ends there,
 * so that it covers the same weekdays whatever day the bench runs. The simulated developers work
 * little on weekends (history-plan.ts): a history of "the last 3 days" run on a Monday held a third
 * of the turns of one run on a Thursday (12,725 against about 35,000), and a different mix of frames.
 */
export function historyEnd(nowMs: number): number {
  const dayStart = Math.floor((nowMs - 15 * 60_000) / DAY) * DAY;
  // 1970-01-01 was a Thursday: day n is a Saturday when (n + 4) % 7 === 6.
  const sinceSaturday = (dayStart / DAY + 4 - 6 + 7) % 7;
  return dayStart - sinceSaturday * DAY;
}

/** Run `servers` developers through `days` of history and record every observer frame. */
export async function recordFleet(opts: {
  servers: number;
  days: number;
  turnsPerDay: number;
  seed: string;
}): Promise<Recording> {
  const started = performance.now();
  const fleet = await startSimulatedFleet({
    servers: opts.servers,
    seed: opts.seed,
    turnsPerMinute: 1e-9,
    startPaused: true,
    listen: "shared",
    history: {
      days: opts.days,
      turnsPerDay: opts.turnsPerDay,
      speed: 1e9,
      minStepMs: 0,
      endMs: historyEnd(Date.now()),
    },
  });
  const recorded: RecordedServer[] = [];
  let turns = 0;
  let usageFrames = 0;
  let bytes = 0;
  let frames = 0;
  for (const sim of fleet.simServers) {
    const rec: RecordedServer = { name: sim.name, team: sim.opts.team, initializeResult: null, frames: [] };
    recorded.push(rec);
    let nextId = 1;
    const mine = new Set<number>();
    const subscribed = new Set<string>();
    const request = (method: string, params: unknown) => {
      const id = nextId++;
      mine.add(id);
      sim.receive(conn, JSON.stringify({ id, method, params }));
    };
    const conn = sim.attach({
      send: (text) => {
        const f = JSON.parse(text) as Parsed;
        if (f.method === undefined && typeof f.id === "number" && mine.has(f.id)) {
          // Our own request's answer: the replay server answers the collector's requests itself.
          if (f.id === 1) rec.initializeResult = f.result;
          return;
        }
        const buf = Buffer.from(text);
        rec.frames.push(buf);
        bytes += buf.length;
        frames++;
        if (f.method === "turn/completed") turns++;
        else if (f.method === "thread/tokenUsage/updated") usageFrames++;
        const threadId = f.params?.threadId;
        // Subscribe synchronously, inside the status broadcast, before the turn's first event.
        if (f.method === "thread/status/changed" && f.params?.status?.type === "active" && threadId) {
          if (!subscribed.has(threadId)) {
            subscribed.add(threadId);
            request("thread/resume", { threadId, excludeTurns: true });
          }
        }
      },
      close: () => {},
    });
    request("initialize", {
      clientInfo: { name: "codex_fleet_observer", title: "bench recorder", version: "bench" },
      capabilities: { experimentalApi: true, optOutNotificationMethods: OPT_OUT_NOTIFICATION_METHODS },
    });
    sim.receive(conn, JSON.stringify({ method: "initialized" }));
  }
  fleet.resume();
  await fleet.historyDone;
  fleet.pause();
  await fleet.idle(5);
  const served = fleet.served;
  if (fleet.violations.length > 0)
    throw new Error(`recorder violated the observer rules: ${JSON.stringify(fleet.violations[0])}`);
  await fleet.close();
  return {
    servers: recorded,
    frames,
    bytes,
    turns,
    usageFrames,
    served,
    recordMs: performance.now() - started,
  };
}
