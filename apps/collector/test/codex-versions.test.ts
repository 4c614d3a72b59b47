/**
 * The fleet's codex versions: a collector against scripted peers that answer `initialize` with
 * the userAgents of different codex releases (and hostile ones) reports each target's version
 * and whether it is below the supported floor in the targets API (JSON and CSV), counts targets
 * per version in /metrics with bounded labels, and honours `codexVersionFloor` from the config.
 */
import { type ScriptedPeer, startScriptedPeer } from "@codex-fleet/codex-fakes/scripted-peer";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { TargetView } from "@codex-fleet/protocol/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningCollector, startCollector, type TestTarget } from "./support/collector.ts";

const ua = (v: string) => `codex_vscode/${v} (Debian 12.0.0; x86_64) xterm (codex_fleet_observer; 0.1.0)`;

/** Peer name → what it answers to initialize as `userAgent` (undefined: the 0.169.0 default). */
const USER_AGENTS: Record<string, unknown> = {
  old: ua("0.149.0"),
  floor: ua("0.150.0"),
  mid1: ua("0.169.0"),
  mid2: ua("0.169.0"),
  newest: ua("0.171.0"),
  hostile: 'codex_vscode/0.169.0"} 1\nevil_metric{x="y"} 1',
  huge: `codex_vscode/${"9".repeat(5000)}.0.0`,
  wrongType: 42,
};

let db: TestDatabase;
const peers: ScriptedPeer[] = [];
let refused: ScriptedPeer;
let targets: TestTarget[];
let collector: RunningCollector | null = null;

async function start(extraYaml?: string): Promise<RunningCollector> {
  const c = await startCollector({ dbUrl: db.url, targets, extraYaml });
  collector = c;
  await waitUntil(
    "every scripted peer open",
    () => [...c.fleet.targets.values()].filter((t) => t.status.state === "open").length === peers.length,
  );
  return c;
}

beforeAll(async () => {
  db = await createTestDatabase();
  targets = [];
  for (const [name, userAgent] of Object.entries(USER_AGENTS)) {
    const peer = await startScriptedPeer({
      answer: (method, params) =>
        method === "initialize"
          ? {
              result: {
                userAgent,
                codexHome: "/home/dev/.codex",
                platformFamily: "unix",
                platformOs: "linux",
                echo: params,
              },
            }
          : undefined,
    });
    peers.push(peer);
    targets.push({ name, url: peer.url, token: `${name}-token` });
  }
  refused = await startScriptedPeer({ upgrade: { kind: "refuse", status: 401, body: "bad token" } });
  targets.push({ name: "down", url: refused.url, token: "down-token" });
}, 60_000);

afterAll(async () => {
  await collector?.stop();
  await Promise.all([...peers, refused].map((p) => p?.close()));
  await db?.drop();
}, 30_000);

describe("codex versions of the fleet", () => {
  it("reports each target's codex version and flags those below the default floor", async () => {
    const c = await start();
    const rows = await c.get<TargetView[]>("/api/v1/targets");
    const seen = Object.fromEntries(rows.map((r) => [r.name, [r.codexVersion, r.belowSupportedFloor]]));
    expect(seen).toEqual({
      old: ["0.149.0", true],
      floor: ["0.150.0", false],
      mid1: ["0.169.0", false],
      mid2: ["0.169.0", false],
      newest: ["0.171.0", false],
      // Nonsense is unknown, never a guess and never flagged.
      hostile: [null, false],
      huge: [null, false],
      wrongType: [null, false],
      down: [null, false],
    });

    const csv = (await c.app.inject({ method: "GET", url: "/api/v1/targets?format=csv" })).body;
    const [header, ...lines] = csv.trim().split(/\r?\n/);
    const cols = (header ?? "").split(",");
    const vi = cols.indexOf("codexVersion");
    const fi = cols.indexOf("belowSupportedFloor");
    expect(vi).toBeGreaterThan(-1);
    expect(fi).toBeGreaterThan(-1);
    const oldLine = lines.find((l) => l.startsWith("old,"))?.split(",");
    expect([oldLine?.[vi], oldLine?.[fi]]).toEqual(["0.149.0", "true"]);
  });

  it("counts targets per codex version in /metrics, with only version-shaped labels", async () => {
    const c = collector as RunningCollector;
    const text = (await c.app.inject({ method: "GET", url: "/metrics" })).body;
    const gauge = text
      .split("\n")
      .filter((l) => l.startsWith("codex_fleet_targets_by_codex_version{"))
      .sort();
    expect(gauge).toEqual(
      [
        'codex_fleet_targets_by_codex_version{version="0.149.0"} 1',
        'codex_fleet_targets_by_codex_version{version="0.150.0"} 1',
        'codex_fleet_targets_by_codex_version{version="0.169.0"} 2',
        'codex_fleet_targets_by_codex_version{version="0.171.0"} 1',
        'codex_fleet_targets_by_codex_version{version="unknown"} 4',
      ].sort(),
    );
    expect(text).toContain("\ncodex_fleet_targets_below_codex_floor 1\n");
    expect(text).not.toContain("evil_metric");
  });

  it("flags against codexVersionFloor from the config", async () => {
    await (collector as RunningCollector).stop();
    collector = null;
    const c = await start('codexVersionFloor: "0.170.0"');
    const rows = await c.get<TargetView[]>("/api/v1/targets");
    const flagged = rows
      .filter((r) => r.belowSupportedFloor)
      .map((r) => r.name)
      .sort();
    expect(flagged).toEqual(["floor", "mid1", "mid2", "old"]);
    const text = (await c.app.inject({ method: "GET", url: "/metrics" })).body;
    expect(text).toContain("\ncodex_fleet_targets_below_codex_floor 4\n");
  });
});
