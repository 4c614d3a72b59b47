/**
 * Issue 12: embedded PGlite stays single-instance. A compiled collector on an embedded database
 * holds every lease (its one target is followed, it leads alerts); a second collector on the same
 * data directory refuses to start, saying why and what to do.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type SimulatedFleet, startSimulatedFleet } from "@codex-fleet/codex-fakes/simulator";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import type { ClusterView, TargetView } from "@codex-fleet/protocol/api";
import { afterAll, describe, expect, it } from "vitest";
import { type CollectorProcess, launchCollector, writeConfigFile } from "../src/launch.ts";
import { TEST_OBSERVER } from "./support/collector.ts";

let first: CollectorProcess | null = null;
let sim: SimulatedFleet | null = null;

afterAll(async () => {
  await first?.stop(10_000);
  await sim?.close();
}, 30_000);

describe("embedded PGlite and a second instance", () => {
  it("the first holds every lease; a second on the same data dir refuses with why and what to do", async () => {
    sim = await startSimulatedFleet({ servers: 2, seed: "embedded", turnsPerMinute: 0, token: true });
    const dir = mkdtempSync(join(tmpdir(), "codex-fleet-embedded-"));
    const configFile = writeConfigFile(
      {
        server: { host: "127.0.0.1", port: 0 },
        dataDir: join(dir, "data"),
        targets: sim.servers.map((s) => ({ name: s.name, team: s.team, url: s.url, token: s.token })),
        observer: TEST_OBSERVER,
      },
      dir,
    );
    first = await launchCollector({ configFile, timeoutMs: 90_000 });
    const c = first;
    await waitUntil(
      "both targets open",
      async () => (await c.get<TargetView[]>("/api/v1/targets")).every((t) => t.state === "open"),
      30_000,
    );
    const view = await c.get<ClusterView>("/api/v1/cluster");
    expect(view.instances).toHaveLength(1);
    expect(view.instances[0]).toMatchObject({ self: true, targetsHeld: 2, alertLeader: true });
    expect(view.unfollowed).toBe(0);

    const refused = await launchCollector({ configFile, timeoutMs: 90_000 }).then(
      () => null,
      (err: Error) => err.message,
    );
    expect(refused).toMatch(/in use by another collector \(process \d+\)/);
    expect(refused).toMatch(/single session/);
    expect(refused).toMatch(/DATABASE_URL/);
  }, 150_000);
});
