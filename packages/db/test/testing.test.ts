import { createServer } from "node:net";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { createTestDatabase } from "../src/testing.ts";

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** A loopback URL nothing listens on (a port the OS just handed out and took back). */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return `postgresql://postgres@127.0.0.1:${address.port}/postgres`;
}

describe("createTestDatabase", () => {
  it("gives each caller its own migrated database and drops it", async () => {
    const a = await createTestDatabase();
    const b = await createTestDatabase();
    try {
      expect(a.url).not.toBe(b.url);
      await query(a.url, "INSERT INTO target (id, url) VALUES ('only-in-a', 'ws://127.0.0.1:1')");

      expect(await query(a.url, "SELECT id FROM target")).toEqual([{ id: "only-in-a" }]);
      expect(await query(b.url, "SELECT id FROM target")).toEqual([]);
    } finally {
      await a.drop();
      await b.drop();
    }
    if (a.kind === "server") {
      await expect(query(a.url, "SELECT 1")).rejects.toThrow(/does not exist/);
      expect(new URL(a.url).pathname).toMatch(new RegExp(`^/fleet_test_${process.pid}_[0-9a-f]{8}$`));
    }
  });

  it("falls back to migrated embedded PGlite when the server is unreachable", async () => {
    const db = await createTestDatabase({ serverUrl: await closedPortUrl(), fallbackToEmbedded: true });
    try {
      expect(db.kind).toBe("embedded");
      expect(db.poolMax).toBe(1);
      expect(await query(db.url, "SELECT count(*)::int AS n FROM target")).toEqual([{ n: 0 }]);
    } finally {
      await db.drop();
    }
  }, 30_000);

  it("rejects and names the server when it is unreachable and fallback is off", async () => {
    const serverUrl = await closedPortUrl();

    await expect(createTestDatabase({ serverUrl, fallbackToEmbedded: false })).rejects.toThrow(
      `test database server ${serverUrl} is unreachable`,
    );
  });
});
