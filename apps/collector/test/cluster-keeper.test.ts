/**
 * LeaseKeeper fencing (issue 12) over a real Postgres reached through a TCP proxy, with an injected
 * monotonic clock and a stand-in fleet: a lease kept "overdue" while this instance was alone must
 * be fenced by its deadline again once it is renewed — in a later outage another instance may be
 * live and take the target over.
 */
import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { startTcpProxy, type TcpProxy, throughProxy } from "@codex-fleet/codex-fakes/tcp-proxy";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createDb, type Db } from "@codex-fleet/db/client";
import { heartbeatInstance } from "@codex-fleet/db/repositories/instance-repository";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeaseKeeper } from "../src/cluster/keeper.ts";
import type { Fleet } from "../src/fleet/fleet.ts";
import { createLogger } from "../src/logger.ts";
import { Metrics } from "../src/metrics.ts";

const TTL_MS = 6000;

let db: TestDatabase;
let proxy: TcpProxy;
let viaProxy: Db;
let direct: Db;

beforeAll(async () => {
  db = await createTestDatabase();
  proxy = await startTcpProxy({ targetPort: Number(new URL(db.url).port || 5432) });
  viaProxy = createDb({ url: throughProxy(db.url, proxy) });
  direct = createDb({ url: db.url });
}, 60_000);

afterAll(async () => {
  await viaProxy?.close().catch(() => {});
  await direct?.close();
  await proxy?.close();
  await db?.drop();
});

/** The fleet as the keeper sees it: `names`, each followed or not; `targetsVersion` as Fleet keeps it. */
function standInFleet(names: readonly string[]) {
  const followed = new Map<string, boolean>();
  const unfollowed: string[] = [];
  const stand = {
    targetsVersion: 0,
    targets: new Map<string, { readonly followed: boolean | undefined }>(),
    async follow(list: readonly string[]) {
      for (const n of list) followed.set(n, true);
      stand.targetsVersion++;
      return [...list];
    },
    async unfollow(name: string) {
      followed.set(name, false);
      stand.targetsVersion++;
      unfollowed.push(name);
    },
    setFollowers() {},
  };
  const add = (name: string) => {
    followed.set(name, followed.get(name) ?? false);
    stand.targets.set(name, {
      get followed() {
        return followed.get(name);
      },
    });
    stand.targetsVersion++;
  };
  for (const n of names) add(n);
  return { fleet: stand as unknown as Fleet, followed, unfollowed, add };
}

const lines: string[] = [];
const log = createLogger({
  level: "debug",
  format: "json",
  destination: new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  }),
});

describe("LeaseKeeper fencing after an outage it rode out alone", () => {
  it("fences a renewed lease by its deadline again once another instance is live", async () => {
    let now = 0;
    const { fleet, followed, unfollowed } = standInFleet(["t1"]);
    const keeper = new LeaseKeeper({
      pool: viaProxy.pool,
      fleet,
      log,
      metrics: new Metrics(),
      identity: { id: randomUUID(), name: "a", version: "test", host: "test-host", pid: 1 },
      ttlMs: TTL_MS,
      embedded: false,
      clock: () => now,
    });
    try {
      await keeper.start();
      await waitUntil("the target followed", () => followed.get("t1") === true, 10_000, 20);

      // Alone, Postgres unreachable, past the deadline: kept (overdue), as designed.
      proxy.cut();
      now = 10_000;
      await waitUntil(
        "the lease kept while alone",
        () => lines.some((l) => l.includes("no other instance was live")),
        10_000,
        20,
      );
      expect(unfollowed).toEqual([]);

      // Postgres is back: the lease is renewed, and another instance joins.
      proxy.restore();
      await heartbeatInstance({
        pool: direct.pool,
        instance: { id: randomUUID(), name: "b", version: "test", host: "other-host", pid: 2 },
        ttlMs: 60_000,
      });
      // Two ticks that reached Postgres after "b" registered: renewed (within the database's TTL,
      // so not re-acquired) and "b" seen live.
      const seen = keeper.snapshotsRead;
      await waitUntil("two renewals", () => keeper.snapshotsRead >= seen + 2, 4 * keeper.intervalMs, 20);
      expect(unfollowed).toEqual([]);

      // A second outage, not alone now: past the renewed deadline the target must be let go.
      proxy.cut();
      now = 20_000;
      await waitUntil("the target let go", () => unfollowed.includes("t1"), 5_000, 20);
    } finally {
      proxy.restore();
      await keeper.release();
    }
  }, 60_000);

  it("renews a lease it took again after it expired under its new token, not the old one", async () => {
    let now = 0;
    const { fleet, followed, unfollowed } = standInFleet(["t1"]);
    const id = randomUUID();
    const keeper = new LeaseKeeper({
      pool: viaProxy.pool,
      fleet,
      log,
      metrics: new Metrics(),
      identity: { id, name: "c", version: "test", host: "test-host", pid: 3 },
      ttlMs: TTL_MS,
      embedded: false,
      clock: () => now,
    });
    const token = async () =>
      (
        await direct.pool.query<{ token: number; live: boolean; holder: string }>(
          `SELECT token, expires_at > now() AS live, holder FROM lease WHERE name = 'target:t1'`,
        )
      ).rows[0];
    // Alone: the instance an earlier test registered is gone.
    await direct.pool.query(`DELETE FROM collector_instance`);
    try {
      await keeper.start();
      await waitUntil("the target followed", () => followed.get("t1") === true, 10_000, 20);
      const first = Number((await token())?.token);

      // Alone and cut off past the deadline (kept overdue) until the lease expires in the database.
      proxy.cut();
      now += 10_000;
      await waitUntil("the database lease expired", async () => (await token())?.live === false, 20_000, 50);

      // Back: not renewed (expired), so taken again with a new token; later rounds renew that one.
      proxy.restore();
      await waitUntil(
        "taken again",
        async () => Number((await token())?.token) === first + 1,
        4 * keeper.intervalMs,
        20,
      );
      const seen = keeper.snapshotsRead;
      await waitUntil("two more rounds", () => keeper.snapshotsRead >= seen + 2, 4 * keeper.intervalMs, 20);
      expect(await token()).toMatchObject({ token: first + 1, live: true, holder: id });
      expect(unfollowed).toEqual([]);
      // And it is fenced by the new deadline: a later outage with another instance live lets go.
      await heartbeatInstance({
        pool: direct.pool,
        instance: { id: randomUUID(), name: "d", version: "test", host: "other-host", pid: 4 },
        ttlMs: 60_000,
      });
      const seen2 = keeper.snapshotsRead;
      await waitUntil("b seen", () => keeper.snapshotsRead >= seen2 + 1, 4 * keeper.intervalMs, 20);
      proxy.cut();
      now += 10_000;
      await waitUntil("the target let go", () => unfollowed.includes("t1"), 5_000, 20);
    } finally {
      proxy.restore();
      await keeper.release();
    }
  }, 60_000);
});

function roundsKeeper(fleet: Fleet, name: string, pid: number): LeaseKeeper {
  return new LeaseKeeper({
    pool: direct.pool,
    fleet,
    log,
    metrics: new Metrics(),
    identity: { id: randomUUID(), name, version: "test", host: "test-host", pid },
    ttlMs: 1500,
    embedded: false,
  });
}

describe("LeaseKeeper rounds", () => {
  it("does plan its share only when a round's inputs changed since one that found nothing to do", async () => {
    const { fleet, followed, add } = standInFleet(["s1", "s2"]);
    await direct.pool.query(`DELETE FROM collector_instance`);
    const keeper = roundsKeeper(fleet, "rounds", 5);
    try {
      await keeper.start();
      await waitUntil(
        "both followed",
        () => followed.get("s1") === true && followed.get("s2") === true,
        10_000,
        20,
      );
      // A round that finds nothing to do settles; the rounds after it read the table only.
      const settled = async () => {
        const seen = keeper.snapshotsRead;
        await waitUntil("a round", () => keeper.snapshotsRead >= seen + 1, 10_000, 20);
        const planned = keeper.plannedRounds;
        await waitUntil("three rounds more", () => keeper.snapshotsRead >= seen + 4, 10_000, 20);
        return keeper.plannedRounds - planned;
      };
      expect(await settled()).toBe(0);

      // A new target: planned, taken and followed.
      add("s3");
      await waitUntil("the new target followed", () => followed.get("s3") === true, 10_000, 20);
      expect(await settled()).toBe(0);

      // A lease of this instance's taken away in the database (another holder): planned again.
      const planned = keeper.plannedRounds;
      await direct.pool.query(
        `UPDATE lease SET holder = 'someone-else', holder_name = 'x' WHERE name = 'target:s1'`,
      );
      await waitUntil("a round planned", () => keeper.plannedRounds > planned, 10_000, 20);
    } finally {
      await keeper.release();
    }
  }, 60_000);

  it("does take a target whose lease another holder let expire: only the lease table changed", async () => {
    const { fleet, followed } = standInFleet(["g1"]);
    await direct.pool.query(`DELETE FROM collector_instance`);
    await direct.pool.query(`DELETE FROM lease WHERE name = 'target:g1'`);
    // Held by an instance that is not registered (gone) for 3 s more: it counts as live until then.
    await direct.pool.query(
      `INSERT INTO lease (name, holder, holder_name, token, expires_at)
       VALUES ('target:g1', 'ghost', 'ghost', 1, now() + interval '3 seconds')`,
    );
    const keeper = roundsKeeper(fleet, "taker", 6);
    try {
      await keeper.start();
      // Settled while the ghost holds it: its share is the one target, this instance's none.
      const seen = keeper.snapshotsRead;
      await waitUntil("two rounds", () => keeper.snapshotsRead >= seen + 2, 10_000, 20);
      expect(followed.get("g1")).toBe(false);
      // Its lease expires: nothing else changes (same instances, targets and held leases).
      await waitUntil("the target followed", () => followed.get("g1") === true, 15_000, 20);
    } finally {
      await keeper.release();
    }
  }, 60_000);
});
