/**
 * The observer's read-only guard against the real `codex app-server`, once per tested codex version (DESIGN rule 2):
 * a TargetConnection refuses every method that could change a developer's run before it reaches
 * the socket. Proven three ways: the connection's own `onSent`, a recording relay between the
 * connection and the server (what actually crossed the wire), and the server's own view
 * (no new thread, no model request, no file written). A developer client making the very same
 * calls shows that each check would notice if the guard let one through.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type AppServer, startAppServer, testedCodexVersions } from "@codex-fleet/codex-fakes/app-server";
import { connectDevClient, type DevClient } from "@codex-fleet/codex-fakes/dev-client";
import { type MockModel, startMockModel } from "@codex-fleet/codex-fakes/mock-model";
import { waitFor } from "@codex-fleet/codex-fakes/scripted-peer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { type ConnectionStatus, DisallowedMethodError, TargetConnection } from "../src/fleet/connection.ts";

describe.each(testedCodexVersions())("codex %s", (version) => {
  interface Relay {
    url: string;
    /** Every text frame the client sent, as it went on to the server. */
    fromClient: string[];
    close(): Promise<void>;
  }

  /** A WebSocket relay that forwards the Authorization header and records client → server frames. */
  async function startRelay(upstream: string): Promise<Relay> {
    const fromClient: string[] = [];
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
    await new Promise<void>((r) => wss.once("listening", () => r()));
    wss.on("connection", (client, req) => {
      const auth = req.headers.authorization;
      const up = new WebSocket(upstream, {
        headers: auth ? { Authorization: auth } : {},
        perMessageDeflate: false,
      });
      const early: string[] = [];
      client.on("message", (data) => {
        const text = data.toString();
        fromClient.push(text);
        if (up.readyState === WebSocket.OPEN) up.send(text);
        else early.push(text);
      });
      up.on("open", () => {
        for (const t of early.splice(0)) up.send(t);
      });
      up.on("message", (data) => client.send(data.toString()));
      up.on("close", () => client.terminate());
      client.on("close", () => up.terminate());
      up.on("error", () => client.terminate());
      client.on("error", () => up.terminate());
    });
    const { port } = wss.address() as { port: number };
    return {
      url: `ws://127.0.0.1:${port}`,
      fromClient,
      close: () =>
        new Promise<void>((r) => {
          for (const c of wss.clients) c.terminate();
          wss.close(() => r());
        }),
    };
  }

  let mock: MockModel;
  let server: AppServer;
  let relay: Relay;
  let dev: DevClient;
  let conn: TargetConnection;
  let threadId: string;
  let turnId: string;
  const sent: Record<string, unknown>[] = [];
  const statuses: ConnectionStatus[] = [];

  async function threadIds(): Promise<string[]> {
    const res = (await conn.request("thread/list", { limit: 100 })) as { data: { id: string }[] };
    return res.data.map((t) => t.id).sort();
  }

  beforeAll(async () => {
    mock = await startMockModel();
    server = await startAppServer({ modelUrl: mock.baseUrl, name: `guard-${version}`, version });
    // A developer-like client initializes first, so the observer does not brand the server (facts: Surprises).
    dev = await connectDevClient({ url: server.url, token: server.token, name: "codex_vscode" });
    threadId = await dev.startThread({ cwd: server.cwd });
    mock.push({ kind: "reply" });
    turnId = await dev.startTurn(threadId, "hello");
    await dev.waitForTurnCompleted(threadId, turnId);
    writeFileSync(join(server.cwd, "secret.txt"), "top secret\n");
    relay = await startRelay(server.url);
    conn = new TargetConnection(
      {
        url: relay.url,
        token: { reveal: () => server.token ?? "" },
        connectTimeoutMs: 5000,
        pingIntervalMs: 30_000,
        minBackoffMs: 100,
        maxBackoffMs: 1000,
        stableAfterMs: 30_000,
        maxPayloadBytes: 16 * 1024 * 1024,
        requestTimeoutMs: 10_000,
        clientVersion: "test",
      },
      {
        onOpen: () => {},
        onEvent: () => {},
        onStatus: (s) => statuses.push(s),
        onSent: (f) => sent.push(structuredClone(f)),
      },
    );
    conn.start();
    await waitFor(
      () => `open (last status ${JSON.stringify(statuses.at(-1))})`,
      () => conn.current.state === "open",
      15_000,
    );
  }, 60_000);

  afterAll(async () => {
    conn?.stop();
    await dev?.close();
    await relay?.close();
    await server?.dispose();
    await mock?.close();
  }, 30_000);

  describe("read-only guard against the real app-server", () => {
    it("does answer thread/list and keep the developer's originator", async () => {
      expect(await threadIds()).toContain(threadId);
      expect(conn.current.userAgent).toMatch(/^codex_vscode\/(\S+) .*\(codex_fleet_observer; test\)$/);
      expect(conn.current.userAgent?.split(" ")[0]).toBe(`codex_vscode/${version}`);
    });

    const refused: [string, string, () => unknown][] = [
      [
        "turn/start",
        "turn/start",
        () => ({ threadId, input: [{ type: "text", text: "observer must not", text_elements: [] }] }),
      ],
      ["thread/start", "thread/start", () => ({ cwd: server.cwd })],
      ["turn/interrupt", "turn/interrupt", () => ({ threadId, turnId })],
      ["fs/readFile", "fs/readFile", () => ({ path: join(server.cwd, "secret.txt") })],
      ["thread/unarchive", "thread/unarchive", () => ({ threadId })],
      [
        "command/exec",
        "command/exec",
        () => ({ command: ["touch", join(server.cwd, "observer-was-here")], cwd: server.cwd }),
      ],
      ["thread/resume without excludeTurns", "thread/resume", () => ({ threadId })],
      ["thread/resume with excludeTurns: false", "thread/resume", () => ({ threadId, excludeTurns: false })],
    ];

    it.each(refused)("does refuse %s before anything reaches the socket", async (_label, method, params) => {
      const threadsBefore = await threadIds();
      const modelRequestsBefore = mock.requests.length;
      const sentBefore = sent.length;
      const wireBefore = relay.fromClient.length;

      const err = await conn.request(method, params()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DisallowedMethodError);
      expect(sent).toHaveLength(sentBefore);

      // A round trip after the refusal: anything sent before it would have crossed the relay first.
      const threadsAfter = await threadIds();
      const wire = relay.fromClient
        .slice(wireBefore)
        .map((t) => (JSON.parse(t) as { method: string }).method);
      expect(wire).toEqual(["thread/list"]);
      expect(threadsAfter).toEqual(threadsBefore);
      expect(mock.requests.length).toBe(modelRequestsBefore);
      expect(existsSync(join(server.cwd, "observer-was-here"))).toBe(false);
      expect(conn.current.state).toBe("open");
    });

    it("does let the same calls through for a developer client, so the checks above can fail", async () => {
      const before = await threadIds();
      const started = await dev.startThread({ cwd: server.cwd });
      mock.push({ kind: "reply" });
      await dev.waitForTurnCompleted(started, await dev.startTurn(started, "control"));
      expect(await threadIds()).toEqual([...before, started].sort());
      await dev.request("command/exec", {
        command: ["touch", join(server.cwd, "developer-was-here")],
        cwd: server.cwd,
      });
      expect(existsSync(join(server.cwd, "developer-was-here"))).toBe(true);
      const file = await dev.request<{ dataBase64: string }>("fs/readFile", {
        path: join(server.cwd, "secret.txt"),
      });
      expect(Buffer.from(file.dataBase64, "base64").toString()).toBe("top secret\n");
    });

    it("does subscribe with thread/resume when excludeTurns is true", async () => {
      const wireBefore = relay.fromClient.length;
      await conn.request("thread/resume", { threadId, excludeTurns: true });
      const frames = relay.fromClient
        .slice(wireBefore)
        .map((t) => JSON.parse(t) as { method: string; params: unknown });
      expect(frames).toEqual([
        expect.objectContaining({ method: "thread/resume", params: { threadId, excludeTurns: true } }),
      ]);
      await conn.request("thread/unsubscribe", { threadId });
    });

    it("sent only allowlisted requests and `initialized`, never a response", () => {
      const all = relay.fromClient.map((t) => JSON.parse(t) as Record<string, unknown>);
      expect(all.length).toBeGreaterThan(10);
      expect(all).toHaveLength(sent.length);
      for (const f of all) {
        expect(f).not.toHaveProperty("result");
        expect(f).not.toHaveProperty("error");
      }
      expect(new Set(all.map((f) => f.method))).toEqual(
        new Set(["initialize", "initialized", "thread/list", "thread/resume", "thread/unsubscribe"]),
      );
    });
  });
});
