/**
 * Two LeaseKeepers on a real Postgres whose fleets disagree (issue 12): A lists ten targets, B none
 * — collectors started with different configs, or mid-way through a rolling config change. A's fair
 * share is five, so it hands five over; B never takes a target it does not list. A takes them back
 * once they have been free for two rounds, and must then keep them, not hand them over again every
 * few rounds (each handover drops and reconnects those targets), and say why in one warning. When
 * the live instances change, it may try again.
 */
import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createDb, type Db } from "@codex-fleet/db/client";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeaseKeeper } from "../src/cluster/keeper.ts";
import type { Fleet } from "../src/fleet/fleet.ts";
import { createLogger } from "../src/logger.ts";
import { Metrics } from "../src/metrics.ts";

const TTL_MS = 1500;

let db: TestDatabase;
let direct: Db;

beforeAll(async () => {
  db = await createTestDatabase({ fallbackToEmbedded: false });
  direct = createDb({ url: db.url });
}, 60_000);

afterAll(async () => {
  await direct?.close();
  await db?.drop();
});

/** The fleet as a keeper sees it: the targets its config lists, each followed or not. */
function standInFleet(names: readonly string[]) {
  const followed = new Map(names.map((n) => [n, false]));
  const counts = { follows: 0, unfollows: 0 };
  const fleet = {
    /** As Fleet's: moves when a target starts or stops being followed. */
    targetsVersion: 0,
    targets: new Map(
      names.map((n) => [
        n,
        {
          get followed() {
            return followed.get(n);
          },
        },
      ]),
    ),
    async follow(list: readonly string[]) {
      for (const n of list) followed.set(n, true);
      fleet.targetsVersion++;
      counts.follows += list.length;
      return [...list];
    },
    async unfollow(name: string) {
      followed.set(name, false);
      fleet.targetsVersion++;
      counts.unfollows++;
    },
    setFollowers() {},
  };
  return { fleet: fleet as unknown as Fleet, followed, counts };
}

function keeper(name: string, fleet: Fleet, lines: string[]): LeaseKeeper {
  const log = createLogger({
    level: "info",
    format: "json",
    destination: new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  });
  return new LeaseKeeper({
    pool: direct.pool,
    fleet,
    log,
    metrics: new Metrics(),
    identity: { id: randomUUID(), name, version: "test", host: "test-host", pid: 1 },
    ttlMs: TTL_MS,
    embedded: false,
  });
}

describe("an instance whose targets no other instance lists", () => {
  it("does keep the targets nobody took instead of handing them over again and again", async () => {
    const targets = Array.from({ length: 10 }, (_, i) => `t${i}`);
    const a = standInFleet(targets);
    const b = standInFleet([]);
    const linesA: string[] = [];
    const ka = keeper("a", a.fleet, linesA);
    const kb = keeper("b", b.fleet, []);
    try {
      await ka.start();
      await waitUntil("A follows all ten", () => [...a.followed.values()].every(Boolean), 10_000, 20);
      await kb.start();
      // B is live: A hands its excess over, nobody takes it, A takes it back and keeps it.
      await waitUntil("A handed targets over", () => a.counts.unfollows > 0, 10_000, 20);
      await waitUntil(
        "A warned that nobody took them",
        () => linesA.some((l) => l.includes("taken by no other instance")),
        15_000,
        20,
      );
      await waitUntil("A follows all ten again", () => [...a.followed.values()].every(Boolean), 10_000, 20);
      const unfollows = a.counts.unfollows;
      // Ten more rounds: no further handover.
      await new Promise((r) => setTimeout(r, 10 * ka.intervalMs));
      expect(a.counts.unfollows).toBe(unfollows);
      expect([...a.followed.values()].every(Boolean)).toBe(true);
      expect(linesA.filter((l) => l.includes("taken by no other instance"))).toHaveLength(1);
    } finally {
      await kb.release();
      await ka.release();
    }
  }, 60_000);
});
