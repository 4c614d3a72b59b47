/**
 * Target rows written in batches (fleet/target-state-writer.ts) on a real Postgres: a storm of
 * changes is a few statements (newest state per target wins, last event/contact never move back),
 * and a database that drops out (a TCP proxy resets the connections) loses nothing: the batch is
 * retried and the newest state lands once it is back.
 */
import { startTcpProxy, type TcpProxy, throughProxy } from "@codex-fleet/codex-fakes/tcp-proxy";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createPool, type DbPool } from "@codex-fleet/db/pool";
import { listTargetRows, type TargetStateRow } from "@codex-fleet/db/repositories/targets-repository";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TargetStateWriter } from "../src/fleet/target-state-writer.ts";

const log = pino({ level: "silent" });
const N = 300;
let testDb: TestDatabase;
let direct: DbPool;
let proxy: TcpProxy;
let viaProxy: DbPool;
const statements: string[] = [];

beforeAll(async () => {
  testDb = await createTestDatabase({ fallbackToEmbedded: false });
  direct = createPool({ url: testDb.url, poolMax: 2 });
  await direct.query(
    `INSERT INTO target (id, url) SELECT 't' || g, 'ws://x' FROM generate_series(1, ${N}) AS g`,
  );
  proxy = await startTcpProxy({ targetPort: Number(new URL(testDb.url).port || 5432) });
  viaProxy = createPool({ url: throughProxy(testDb.url, proxy), poolMax: 10, timeoutMs: 2_000 });
  const query = viaProxy.query.bind(viaProxy) as (...a: unknown[]) => unknown;
  (viaProxy as unknown as { query: (...a: unknown[]) => unknown }).query = (...a: unknown[]) => {
    if (typeof a[0] === "string" && a[0].includes("UPDATE target")) statements.push(a[0]);
    return query(...a);
  };
}, 60_000);

afterAll(async () => {
  await viaProxy?.end();
  await direct?.end();
  await proxy?.close();
  await testDb?.drop();
});

const row = (
  i: number,
  state: TargetStateRow["state"],
  atMs: number,
  contactMs: number | null,
): TargetStateRow => ({
  id: `t${i}`,
  state,
  stateReason: state === "backoff" ? "dropped" : null,
  stateSinceMs: atMs,
  lastError: null,
  userAgent: state === "open" ? "codex/0.171.0" : null,
  lastEventAtMs: atMs,
  lastContactAtMs: contactMs,
  connectedSinceMs: state === "open" ? atMs : null,
});

describe("TargetStateWriter", () => {
  const T0 = Date.UTC(2026, 11, 6, 12);

  it("writes a storm of changes of every target in a few statements, newest state winning", async () => {
    const writer = new TargetStateWriter({ pool: viaProxy, log });
    for (let i = 1; i <= N; i++) {
      writer.write(row(i, "backoff", T0, T0));
      writer.write(row(i, "connecting", T0 + 1, null));
      writer.write(row(i, "open", T0 + 2, T0 + 2));
    }
    await writer.flush();
    expect(statements.length).toBeLessThanOrEqual(2);
    const rows = await listTargetRows({ pool: direct });
    expect(rows).toHaveLength(N);
    for (const r of rows) {
      expect(r.state).toBe("open");
      expect(r.userAgent).toBe("codex/0.171.0");
      expect(r.lastContactAtMs).toBe(T0 + 2);
      expect(r.connectedSinceMs).toBe(T0 + 2);
    }
    // An older contact never moves the stored one back; a state without a user agent keeps it.
    writer.write(row(1, "backoff", T0 + 3, T0));
    await writer.flush();
    const t1 = (await listTargetRows({ pool: direct })).find((r) => r.id === "t1");
    expect(t1).toMatchObject({ state: "backoff", lastContactAtMs: T0 + 2, userAgent: "codex/0.171.0" });
  });

  it("retries a batch the database did not take, and the newest state lands", async () => {
    const writer = new TargetStateWriter({ pool: viaProxy, log });
    proxy.cut();
    writer.write(row(2, "backoff", T0 + 10, null));
    await expect(writer.flush()).rejects.toThrow();
    writer.write(row(2, "connecting", T0 + 11, null));
    proxy.restore();
    await waitUntil(
      "t2 connecting in the database",
      async () => (await listTargetRows({ pool: direct })).find((r) => r.id === "t2")?.state === "connecting",
      15_000,
    );
    await writer.flush();
  }, 30_000);
});
