import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { SimClock } from "../../src/simulator/clock.ts";
import { createPrng } from "../../src/simulator/prng.ts";
import { Scheduler } from "../../src/simulator/scheduler.ts";
import { SimServer } from "../../src/simulator/sim-server.ts";
import { type ListenMode, startTransport, type Transport } from "../../src/simulator/transport.ts";

const scheduler = new Scheduler();
const servers = ["alice", "bob"].map(
  (name) =>
    new SimServer({
      name,
      team: "t",
      token: `${name}-token`,
      prng: createPrng(name),
      clock: new SimClock(),
      scheduler,
      unloadAfterMs: 60_000,
      responseDelayMs: 0,
      maxInFlightRequests: Number.POSITIVE_INFINITY,
      originator: "codex_vscode",
      platform: "Debian 12.0.0; x86_64) xterm",
      codexHome: `/home/${name}/.codex`,
      onViolation: () => {},
    }),
);
const transports = new Map<ListenMode, Transport>();

beforeAll(async () => {
  transports.set("perServer", await startTransport(servers, "perServer", "127.0.0.1"));
  transports.set("shared", await startTransport(servers, "shared", "127.0.0.1"));
});
afterAll(async () => {
  for (const t of transports.values()) await t.close();
  scheduler.close();
});

/** Open a socket; resolves with the HTTP refusal or with the first frame after `initialize`. */
function connect(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string } | { frame: unknown }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on("open", () =>
      ws.send(
        JSON.stringify({ id: 1, method: "initialize", params: { clientInfo: { name: "t", version: "1" } } }),
      ),
    );
    ws.on("message", (data) => {
      resolve({ frame: JSON.parse(data.toString()) });
      ws.close();
    });
    ws.on("error", (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

const url = (mode: ListenMode, i: number) => transports.get(mode)?.urls[i] as string;

describe("simulated app-server endpoints", () => {
  it.each([
    ["no Authorization header", {}, "missing websocket bearer token"],
    ["a header without scheme", { Authorization: "alice-token" }, "invalid authorization header"],
    ["a wrong token", { Authorization: "Bearer nope" }, "invalid websocket bearer token"],
    ["another server's token", { Authorization: "Bearer bob-token" }, "invalid websocket bearer token"],
  ])("does answer 401 like 0.169.0 to %s", async (_name, headers, message) => {
    expect(await connect(url("perServer", 0), headers)).toEqual({ status: 401, body: message });
  });

  it("does answer 403 to an upgrade with an Origin header, even with a valid token", async () => {
    const res = await connect(url("perServer", 0), {
      Authorization: "Bearer alice-token",
      Origin: "http://x",
    });
    expect(res).toMatchObject({ status: 403 });
  });

  it.each([
    ["perServer", 1],
    ["shared", 1],
    ["shared", 0],
  ] as const)("does connect %s endpoint %i with its token (scheme in any case)", async (mode, i) => {
    const name = servers[i]?.name as string;
    const res = await connect(url(mode, i), { Authorization: `bEaReR ${name}-token` });
    expect(res).toMatchObject({ frame: { id: 1, result: { codexHome: `/home/${name}/.codex` } } });
  });

  it.each([
    ["/readyz", 200],
    ["/healthz", 200],
    ["/other", 400],
  ])("does answer GET %s with %i and no auth", async (path, status) => {
    const base = url("perServer", 0).replace("ws://", "http://");
    expect((await fetch(`${base}${path}`)).status).toBe(status);
  });

  it("does answer 404 to an upgrade for an index the shared endpoint does not have", async () => {
    const shared = url("shared", 0).replace(/\/s\/0$/, "/s/9");
    expect(await connect(shared, { Authorization: "Bearer alice-token" })).toMatchObject({ status: 404 });
  });
});

describe("shared endpoints of a large fleet", () => {
  it("does spread 2,001 servers over 3 ports (1,000 each), and each answers on its own", async () => {
    const many = Array.from({ length: 2_001 }, (_, i) => servers[i % 2] as SimServer);
    const t = await startTransport(many, "shared", "127.0.0.1");
    try {
      const ports = t.urls.map((u) => new URL(u).port);
      expect(new Set(ports).size).toBe(3);
      expect([ports[0] === ports[999], ports[999] === ports[1_000], ports[1_000] === ports[2_000]]).toEqual([
        true,
        false,
        false,
      ]);
      const res = await connect(t.urls[2_000] as string, { Authorization: "Bearer alice-token" });
      expect(res).toMatchObject({ frame: { id: 1, result: { codexHome: "/home/alice/.codex" } } });
    } finally {
      await t.close();
    }
  });
});
