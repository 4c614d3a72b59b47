/**
 * Leases (issue 12) on real Postgres: acquire, renew, release, expiry and takeover as the database
 * clock decides them, fencing tokens that only grow, and concurrent acquisitions where exactly one
 * instance wins each lease. Expiry is awaited by polling the database's own verdict, never timed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../src/client.ts";
import {
  heartbeatInstance,
  listInstances,
  pruneInstances,
  removeInstance,
} from "../src/repositories/instance-repository.ts";
import {
  acquireLeases,
  expireLeasesOf,
  leaseBatch,
  listLeases,
  listLiveLeases,
  releaseLeases,
  renewLeaseBatch,
  renewLeases,
} from "../src/repositories/lease-repository.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";

let testDb: TestDatabase;
let db: Db;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDb({ url: testDb.url, poolMax: Math.min(testDb.poolMax, 8) });
}, 60_000);

afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

const LONG = 60_000;
let seq = 0;
const fresh = (n = 1) => {
  seq++;
  return Array.from({ length: n }, (_, i) => `target:lease-${seq}-${i}`);
};

async function row(name: string) {
  return (await listLeases({ pool: db.pool })).leases.find((l) => l.name === name);
}

/** Wait until the database itself says the lease has expired (short TTLs only). */
async function untilExpired(name: string): Promise<void> {
  for (;;) {
    if ((await row(name))?.live === false) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("leases", () => {
  it("acquires a free lease once: a second holder gets nothing while it is live", async () => {
    const [name] = fresh();
    const a = await acquireLeases({
      pool: db.pool,
      holder: "A",
      holderName: "a",
      names: [name as string],
      ttlMs: LONG,
    });
    expect(a).toEqual([{ name, token: 1, expiresAtMs: expect.any(Number), previousHolder: null }]);
    const b = await acquireLeases({
      pool: db.pool,
      holder: "B",
      holderName: "b",
      names: [name as string],
      ttlMs: LONG,
    });
    expect(b).toEqual([]);
    // The holder itself does not re-acquire a live lease (it renews it).
    expect(
      await acquireLeases({
        pool: db.pool,
        holder: "A",
        holderName: "a",
        names: [name as string],
        ttlMs: LONG,
      }),
    ).toEqual([]);
    expect(await row(name as string)).toMatchObject({ holder: "A", holderName: "a", token: 1, live: true });
  });

  it("renews only for the holder with its token, and moves the expiry on the database clock", async () => {
    const [name] = fresh() as [string];
    const [held] = await acquireLeases({
      pool: db.pool,
      holder: "A",
      holderName: "a",
      names: [name],
      ttlMs: 1000,
    });
    if (!held) throw new Error("not acquired");
    const renewed = await renewLeases({ pool: db.pool, holder: "A", leases: [held], ttlMs: LONG });
    expect(renewed).toHaveLength(1);
    expect(renewed[0]?.expiresAtMs).toBeGreaterThan(held.expiresAtMs);
    // Another instance, or the right holder with a stale token, renews nothing.
    expect(await renewLeases({ pool: db.pool, holder: "B", leases: [held], ttlMs: LONG })).toEqual([]);
    expect(
      await renewLeases({
        pool: db.pool,
        holder: "A",
        leases: [{ name, token: held.token + 1 }],
        ttlMs: LONG,
      }),
    ).toEqual([]);
  });

  it("renews a prepared batch and answers with the leases it did not renew", async () => {
    // Names a text[] literal must quote and escape.
    const odd = [
      'target:with "quotes"',
      "target:back\\slash",
      "target:{braces},comma",
      "target:NULL",
      "target: ",
    ];
    const names = [...fresh(3), ...odd.map((n) => `${n}${seq}`)];
    const held = await acquireLeases({ pool: db.pool, holder: "A", holderName: "a", names, ttlMs: 1000 });
    expect(held.map((l) => l.name).sort()).toEqual([...names].sort());
    const byName = new Map(held.map((l) => [l.name, l]));
    const [, stale, taken] = names as [string, string, string];
    // `stale`: asked with a token it no longer has; `taken`: expired and acquired by B.
    await releaseLeases({
      pool: db.pool,
      holder: "A",
      leases: [byName.get(taken) as { name: string; token: number }],
    });
    expect(
      await acquireLeases({ pool: db.pool, holder: "B", holderName: "b", names: [taken], ttlMs: LONG }),
    ).toHaveLength(1);
    const batch = leaseBatch(
      names.map((name) => ({ name, token: (byName.get(name)?.token ?? 0) + (name === stale ? 1 : 0) })),
    );
    expect(batch.names).toEqual(names);
    const notRenewed = await renewLeaseBatch({ pool: db.pool, holder: "A", batch, ttlMs: LONG });
    expect(notRenewed.sort()).toEqual([stale, taken].sort());
    const rows = (await listLeases({ pool: db.pool })).leases.filter((l) => names.includes(l.name));
    for (const name of names.filter((n) => n !== stale && n !== taken)) {
      const r = rows.find((l) => l.name === name);
      expect(r, name).toMatchObject({ holder: "A", live: true });
      expect(r?.expiresAtMs, name).toBeGreaterThan((byName.get(name)?.expiresAtMs ?? 0) + 30_000);
    }
    expect(rows.find((l) => l.name === taken)).toMatchObject({ holder: "B" });
    expect(rows.find((l) => l.name === stale)?.expiresAtMs).toBe(byName.get(stale)?.expiresAtMs);
    // Another holder renews none of them (B's token for `taken` is not A's).
    expect((await renewLeaseBatch({ pool: db.pool, holder: "B", batch, ttlMs: LONG })).sort()).toEqual(
      [...names].sort(),
    );
    expect(await renewLeaseBatch({ pool: db.pool, holder: "A", batch: leaseBatch([]), ttlMs: LONG })).toEqual(
      [],
    );
  });

  it("lists the live leases only when they changed since a digest", async () => {
    const byName = <T extends { name: string }>(xs: T[] | null) =>
      xs && [...xs].sort((x, y) => (x.name < y.name ? -1 : 1));
    await db.pool.query(`UPDATE lease SET expires_at = now() - interval '1 second'`);
    const first = await listLiveLeases({ pool: db.pool });
    expect(first.leases).toEqual([]);
    const [a, b] = fresh(2) as [string, string];
    const [held] = await acquireLeases({
      pool: db.pool,
      holder: "A",
      holderName: "a",
      names: [a],
      ttlMs: LONG,
    });
    const one = await listLiveLeases({ pool: db.pool, unless: first.digest });
    expect(byName(one.leases)).toEqual([{ name: a, holder: "A", holderName: "a" }]);
    // Unchanged (a renewal moves no holder): the digest alone.
    await renewLeases({
      pool: db.pool,
      holder: "A",
      leases: [held as { name: string; token: number }],
      ttlMs: LONG,
    });
    expect(await listLiveLeases({ pool: db.pool, unless: one.digest })).toEqual({
      digest: one.digest,
      leases: null,
    });
    // Another lease, another holder, a lease released: each changes the digest.
    await acquireLeases({ pool: db.pool, holder: "B", holderName: "b", names: [b], ttlMs: LONG });
    const two = await listLiveLeases({ pool: db.pool, unless: one.digest });
    expect(byName(two.leases)).toEqual([
      { name: a, holder: "A", holderName: "a" },
      { name: b, holder: "B", holderName: "b" },
    ]);
    await releaseLeases({ pool: db.pool, holder: "A", leases: [held as { name: string; token: number }] });
    await acquireLeases({ pool: db.pool, holder: "B", holderName: "a", names: [a], ttlMs: LONG });
    const three = await listLiveLeases({ pool: db.pool, unless: two.digest });
    expect(three.digest).not.toBe(two.digest);
    expect(byName(three.leases)).toEqual([
      { name: a, holder: "B", holderName: "a" },
      { name: b, holder: "B", holderName: "b" },
    ]);
    await releaseLeases({ pool: db.pool, holder: "B", leases: [{ name: b, token: 1 }] });
    const four = await listLiveLeases({ pool: db.pool, unless: three.digest });
    expect(byName(four.leases)).toEqual([{ name: a, holder: "B", holderName: "a" }]);
  });

  it("expires on the database clock; another instance takes it over with a higher fencing token", async () => {
    const [name] = fresh() as [string];
    const [held] = await acquireLeases({
      pool: db.pool,
      holder: "A",
      holderName: "a",
      names: [name],
      ttlMs: 50,
    });
    if (!held) throw new Error("not acquired");
    await untilExpired(name);
    // Too late to renew: the lease is lost even though nobody has taken it yet.
    expect(await renewLeases({ pool: db.pool, holder: "A", leases: [held], ttlMs: LONG })).toEqual([]);
    const taken = await acquireLeases({
      pool: db.pool,
      holder: "B",
      holderName: "b",
      names: [name],
      ttlMs: LONG,
    });
    // It names who held it before: a failover, not a re-take.
    expect(taken).toEqual([
      { name, token: held.token + 1, expiresAtMs: expect.any(Number), previousHolder: "A" },
    ]);
    // The old holder's token fences it out of renewing and releasing the new holder's lease.
    expect(await renewLeases({ pool: db.pool, holder: "A", leases: [held], ttlMs: LONG })).toEqual([]);
    expect(await releaseLeases({ pool: db.pool, holder: "A", leases: [held] })).toEqual([]);
    expect(await row(name)).toMatchObject({ holder: "B", token: held.token + 1, live: true });
  });

  it("releases at once for the next holder, and the token never goes back", async () => {
    const [name] = fresh() as [string];
    const [a] = await acquireLeases({
      pool: db.pool,
      holder: "A",
      holderName: "a",
      names: [name],
      ttlMs: LONG,
    });
    if (!a) throw new Error("not acquired");
    expect(await releaseLeases({ pool: db.pool, holder: "A", leases: [a] })).toEqual([name]);
    expect((await row(name))?.live).toBe(false);
    const [b] = await acquireLeases({
      pool: db.pool,
      holder: "B",
      holderName: "b",
      names: [name],
      ttlMs: LONG,
    });
    expect(b?.token).toBe(2);
    await releaseLeases({ pool: db.pool, holder: "B", leases: [b as { name: string; token: number }] });
    const [again] = await acquireLeases({
      pool: db.pool,
      holder: "A",
      holderName: "a",
      names: [name],
      ttlMs: LONG,
    });
    expect(again?.token).toBe(3);
  });

  it("gives each lease to exactly one of many instances acquiring at once", async () => {
    const names = fresh(40);
    const holders = ["A", "B", "C", "D", "E"];
    const won = await Promise.all(
      holders.map((h) =>
        acquireLeases({ pool: db.pool, holder: h, holderName: h.toLowerCase(), names, ttlMs: LONG }),
      ),
    );
    const all = won
      .flat()
      .map((l) => l.name)
      .sort();
    expect(all).toEqual([...names].sort());
    const rows = (await listLeases({ pool: db.pool, prefix: `target:lease-${seq}-` })).leases;
    expect(rows).toHaveLength(40);
    for (const [i, h] of holders.entries())
      for (const l of won[i] ?? []) expect(rows.find((r) => r.name === l.name)?.holder).toBe(h);
  });

  it("expires every live lease of a gone instance at once (a killed predecessor)", async () => {
    const names = fresh(3);
    await acquireLeases({ pool: db.pool, holder: "dead", holderName: "d", names, ttlMs: LONG });
    expect(await expireLeasesOf({ pool: db.pool, holders: ["dead"] })).toBe(3);
    const won = await acquireLeases({ pool: db.pool, holder: "next", holderName: "n", names, ttlMs: LONG });
    expect(won.map((l) => l.token)).toEqual([2, 2, 2]);
  });

  it("lets a lease expired or released 'now' be acquired at once, however soon (ms rounding)", async () => {
    // Stored in a timestamptz(3), now() may round up by up to 0.5 ms: a lease expired "now"
    // would stay live for an acquire within that half millisecond. Many tries make it show.
    for (let i = 0; i < 40; i++) {
      const [name] = fresh(1) as [string];
      const [held] = await acquireLeases({
        pool: db.pool,
        holder: "a",
        holderName: "a",
        names: [name],
        ttlMs: LONG,
      });
      await releaseLeases({ pool: db.pool, holder: "a", leases: [{ name, token: held?.token ?? 0 }] });
      const won = await acquireLeases({
        pool: db.pool,
        holder: "b",
        holderName: "b",
        names: [name],
        ttlMs: LONG,
      });
      expect(won.map((l) => l.name)).toEqual([name]);
    }
  });

  it("lists leases by prefix with the database's time", async () => {
    const names = fresh(2);
    await acquireLeases({ pool: db.pool, holder: "A", holderName: "a", names, ttlMs: LONG });
    const { nowMs, leases } = await listLeases({ pool: db.pool, prefix: `target:lease-${seq}-` });
    expect(leases.map((l) => l.name)).toEqual([...names].sort());
    for (const l of leases) expect(l.expiresAtMs).toBeGreaterThan(nowMs);
    expect((await listLeases({ pool: db.pool, prefix: "no-such-prefix:" })).leases).toEqual([]);
  });
});

describe("instance registry", () => {
  const me = { id: "i-1", name: "alpha", version: "0.1.0", host: "h", pid: 42 };

  it("registers, heartbeats, expires on the database clock and is removed at an orderly stop", async () => {
    await heartbeatInstance({ pool: db.pool, instance: me, ttlMs: LONG });
    const [first] = (await listInstances({ pool: db.pool })).filter((i) => i.id === me.id);
    expect(first).toMatchObject({ ...me, live: true });
    await heartbeatInstance({ pool: db.pool, instance: me, ttlMs: 30 });
    for (;;) {
      const i = (await listInstances({ pool: db.pool })).find((x) => x.id === me.id);
      if (i?.live === false) {
        expect(i.startedAtMs).toBe(first?.startedAtMs);
        expect(i.heartbeatAtMs).toBeGreaterThanOrEqual(first?.heartbeatAtMs ?? 0);
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await removeInstance({ pool: db.pool, id: me.id });
    expect((await listInstances({ pool: db.pool })).find((x) => x.id === me.id)).toBeUndefined();
  });

  it("prunes instances dead for more than a day", async () => {
    await heartbeatInstance({ pool: db.pool, instance: { ...me, id: "old" }, ttlMs: LONG });
    await db.pool.query(
      `UPDATE collector_instance SET expires_at = now() - interval '2 days' WHERE id = 'old'`,
    );
    expect(await pruneInstances({ pool: db.pool })).toBe(1);
  });
});
