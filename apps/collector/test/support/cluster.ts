/**
 * Helpers for the multi-process cluster tests (issue 12): compiled collectors launched from one
 * config file, "which instance follows which target" read off their own APIs, and the exact
 * per-target totals check against what the model stand-ins and the simulator served.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DevClient } from "@codex-fleet/codex-fakes/dev-client";
import type { MockModel } from "@codex-fleet/codex-fakes/mock-model";
import type { SimulatedFleet } from "@codex-fleet/codex-fakes/simulator";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import type { Db } from "@codex-fleet/db/client";
import { listOpenAlerts } from "@codex-fleet/db/repositories/alerts-repository";
import type { ClusterView, TargetView, UsageResponse } from "@codex-fleet/protocol/api";
import {
  type CollectorProcess,
  type LaunchConfig,
  type LaunchOptions,
  launchCollector,
} from "../../src/launch.ts";

export const COUNTERS = [
  "inputTokens",
  "cachedInputTokens",
  "outputTokens",
  "reasoningOutputTokens",
  "totalTokens",
] as const;
export type Counts = Record<string, number>;

/** A compiled collector of a cluster: `name` is its instance name, `alive` false once it exited. */
export type Member = CollectorProcess & { alive: boolean; name: string };

/** Launch a collector and add it to `members`. */
export async function launchMember(members: Member[], options: LaunchOptions): Promise<Member> {
  const c = (await launchCollector({ timeoutMs: 60_000, ...options })) as Member;
  c.alive = true;
  c.name = (await c.get<ClusterView>("/api/v1/cluster")).instances.find((i) => i.self)?.name ?? "";
  void c.exited.then(() => {
    c.alive = false;
  });
  members.push(c);
  return c;
}

export const liveMembers = (members: readonly Member[]) => members.filter((c) => c.alive);

/** Per target, the instances whose own view says they follow it, with the socket open. */
export async function openAt(members: readonly Member[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const c of liveMembers(members)) {
    const targets = await c.get<TargetView[]>("/api/v1/targets").catch(() => [] as TargetView[]);
    for (const t of targets) {
      // Every instance shows every target (replication); its own are those it follows.
      if (t.state !== "open" || t.followedBy !== c.name) continue;
      out.set(t.name, [...(out.get(t.name) ?? []), c.name]);
    }
  }
  return out;
}

/** Wait until each of `names` is open at exactly one live instance (and nothing at two). */
export async function everyTargetOpenOnce(
  members: readonly Member[],
  names: readonly string[],
  timeoutMs: number,
): Promise<Map<string, string[]>> {
  let last = new Map<string, string[]>();
  await waitUntil(
    () => `every target open at exactly one instance: ${JSON.stringify([...last])}`,
    async () => {
      last = await openAt(members);
      return names.every((n) => last.get(n)?.length === 1) && [...last.values()].every((v) => v.length === 1);
    },
    timeoutMs,
    200,
  );
  return last;
}

/** What was served, per target: the simulator's servers, and each real target's model stand-in. */
export function servedByTarget(
  sim: SimulatedFleet,
  real: Record<string, MockModel> = {},
): Map<string, Counts> {
  const served = new Map<string, Counts>(
    [...sim.servedByServer].map(([k, v]) => [k, v as unknown as Counts]),
  );
  for (const [name, mock] of Object.entries(real)) {
    const sum: Counts = Object.fromEntries(COUNTERS.map((k) => [k, 0]));
    for (const v of mock.servedByThread.values())
      for (const k of COUNTERS) sum[k] = (sum[k] ?? 0) + ((v as unknown as Counts)[k] ?? 0);
    served.set(name, sum);
  }
  return served;
}

/**
 * Wait until `collector`'s per-target usage equals `served` to the token; fails at once when a
 * count exceeds what was served (double counting never converges).
 */
export async function waitForServedTotals(
  collector: CollectorProcess,
  served: ReadonlyMap<string, Counts>,
  fromMs: number,
  timeoutMs = 120_000,
): Promise<void> {
  let diff: string[] = [];
  await waitUntil(
    () => `per-target totals equal what was served: ${diff.join("; ")}`,
    async () => {
      const u = await collector.get<UsageResponse>(
        `/api/v1/usage?groupBy=target&from=${fromMs}&to=${Date.now() + 3_600_000}`,
      );
      const counted = new Map(u.rows.map((r) => [r.target ?? "", r as unknown as Counts]));
      diff = [];
      for (const [target, s] of served)
        for (const k of COUNTERS) {
          const want = s[k] ?? 0;
          const c = counted.get(target)?.[k] ?? 0;
          if (c > want) throw new Error(`${target} ${k}: counted ${c} > served ${want}`);
          if (c !== want) diff.push(`${target} ${k} ${c}/${want}`);
        }
      return diff.length === 0;
    },
    timeoutMs,
    500,
  );
}

/**
 * Alerts config of the failover tests: the approval-wait rule after `forMs`, every transition
 * sent at once (no repeats) to a webhook receiver; the child needs `HOOK_SECRET` in its env.
 */
export function approvalWaitAlerts(hookUrl: string, forMs: number): LaunchConfig["alerts"] {
  return {
    repeatIntervalMs: 0,
    evaluateIntervalMs: 200,
    settleMs: 500,
    rules: [{ id: "approval-wait", kind: "waitingOnApproval", forMs }],
    // Grouped notifications (issue 16) without the default 30 s groupWait.
    route: { receiver: "hook", groupWaitMs: 0, groupIntervalMs: 1 },
    notify: [
      {
        type: "webhook",
        name: "hook",
        url: hookUrl,
        secretEnv: "HOOK_SECRET",
        minBackoffMs: 50,
        maxBackoffMs: 200,
      },
    ],
  };
}

/**
 * A turn on the real app-server whose command asks for an approval nobody answers; resolves once
 * its approval-wait alert is pending in the database.
 */
export async function leaveApprovalWaiting(
  dev: DevClient,
  mock: MockModel,
  cwd: string,
  sql: Db,
): Promise<{ thread: string; turn: string }> {
  const thread = await dev.startThread({ cwd, approvalPolicy: "untrusted" });
  mock.push({
    kind: "toolCall",
    command: "touch nobody-approved.txt",
    usage: { input: 700, cached: 0, output: 20, reasoning: 0 },
    // A model's latency (a real one takes seconds): the response of a brand-new thread's first
    // turn must not beat the collector's subscription, or its total stays pending for as long as
    // this developer keeps the thread loaded — by design (README "Pending recovery"), not a loss.
    delayMs: 500,
  });
  const turn = await dev.startTurn(thread, "nobody answers");
  await waitUntil("approval-wait pending", async () =>
    (await listOpenAlerts({ pool: sql.pool })).some((a) => a.subjectId === thread && a.state === "pending"),
  );
  return { thread, turn };
}

/**
 * Drill diagnostics: `DRILL_LOG_LEVEL=debug` makes the drills' collectors log at that level
 * (default info), and a failed drill writes each collector's whole output to a file (in
 * `DRILL_LOG_DIR`, default the temporary directory; with `DRILL_LOG_DIR` set, every drill does) so
 * that one thread can be followed across instances.
 */
export function drillLogLevel(): "info" | "debug" | "trace" {
  const level = process.env.DRILL_LOG_LEVEL;
  return level === "debug" || level === "trace" ? level : "info";
}

/** Write each collector's whole output to `<dir>/<drill>-<name or pid>.log`; returns the paths. */
export function dumpDrillOutput(
  drill: string,
  collectors: readonly { name: string; output(): string }[],
): string[] {
  const dir = process.env.DRILL_LOG_DIR ?? tmpdir();
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  return collectors.map((c) => {
    const file = join(dir, `${drill}-${stamp}-${c.name}.log`);
    writeFileSync(file, c.output());
    return file;
  });
}
