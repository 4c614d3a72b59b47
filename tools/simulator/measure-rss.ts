/**
 * Measures the simulator's memory per simulated server. Run:
 *   npm run measure-rss --workspace @codex-fleet/tools -- SERVERS [SECONDS] [TURNS_PER_MINUTE]
 * Starts SERVERS simulated app-servers, connects one observer per server from a child process
 * (so the client side does not count: initialize, resume threads when they turn active,
 * unsubscribe 15 s after idle, like the collector), lets the developers work, then reports RSS
 * and heap before and after, per server.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startSimulatedFleet } from "@codex-fleet/codex-fakes/simulator";
import WebSocket from "ws";

const MB = 1024 * 1024;
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Child process: one read-only client per URL. */
async function clients(urls: string[], token: string): Promise<void> {
  let open = 0;
  for (const url of urls) {
    const ws = new WebSocket(url, {
      headers: { Authorization: `Bearer ${token}` },
      perMessageDeflate: false,
    });
    let id = 1;
    const subscribed = new Map<string, NodeJS.Timeout | null>();
    ws.on("open", () => {
      ws.send(
        JSON.stringify({
          id: id++,
          method: "initialize",
          params: {
            clientInfo: { name: "measure", version: "1" },
            capabilities: {
              optOutNotificationMethods: ["item/agentMessage/delta", "account/rateLimits/updated", "warning"],
            },
          },
        }),
      );
      ws.send(JSON.stringify({ method: "initialized" }));
      open++;
      if (open === urls.length) process.send?.({ open });
    });
    ws.on("message", (data) => {
      const f = JSON.parse(data.toString()) as {
        method?: string;
        params?: { threadId?: string; status?: { type: string } };
      };
      const threadId = f.params?.threadId;
      if (f.method !== "thread/status/changed" || !threadId) return;
      const active = f.params?.status?.type === "active";
      const timer = subscribed.get(threadId);
      if (timer) clearTimeout(timer);
      if (active && !subscribed.has(threadId)) {
        ws.send(
          JSON.stringify({ id: id++, method: "thread/resume", params: { threadId, excludeTurns: true } }),
        );
      }
      if (active) subscribed.set(threadId, null);
      else if (subscribed.has(threadId) && f.params?.status?.type !== "notLoaded") {
        subscribed.set(
          threadId,
          setTimeout(() => {
            subscribed.delete(threadId);
            ws.send(JSON.stringify({ id: id++, method: "thread/unsubscribe", params: { threadId } }));
          }, 15_000),
        );
      } else subscribed.delete(threadId);
    });
    ws.on("error", () => {});
    if (open % 200 === 0) await sleep(5);
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === "--clients") {
    process.on("message", (m: { urls: string[]; token: string }) => void clients(m.urls, m.token));
    return;
  }
  const servers = Number(process.argv[2] ?? 100);
  const seconds = Number(process.argv[3] ?? 60);
  const turnsPerMinute = Number(process.argv[4] ?? 1);
  gc();
  const base = process.memoryUsage();
  const fleet = await startSimulatedFleet({
    servers,
    seed: "rss",
    turnsPerMinute,
    token: "measure-token",
    startPaused: true,
  });
  gc();
  const started = process.memoryUsage();
  const child = fork(fileURLToPath(import.meta.url), ["--clients"], { execArgv: ["--import", "tsx"] });
  const connected = new Promise<void>((resolve) => child.once("message", () => resolve()));
  child.send({ urls: fleet.servers.map((s) => s.url), token: "measure-token" });
  await connected;
  gc();
  const withClients = process.memoryUsage();
  fleet.resume();
  const t0 = Date.now();
  let cpu = process.cpuUsage();
  while (Date.now() - t0 < seconds * 1000) {
    await sleep(10_000);
    const used = process.cpuUsage(cpu);
    cpu = process.cpuUsage();
    const s = fleet.stats();
    console.log(
      `t=${Math.round((Date.now() - t0) / 1000)}s rss=${(process.memoryUsage().rss / MB).toFixed(0)}MB cpu=${((used.user + used.system) / 1e4 / 10).toFixed(0)}% turns=${s.turnsStarted} threads=${s.threads} loaded=${s.loadedThreads} conns=${s.connections}`,
    );
  }
  gc();
  const end = process.memoryUsage();
  const per = (a: NodeJS.MemoryUsage, b: NodeJS.MemoryUsage, k: "rss" | "heapUsed") =>
    ((a[k] - b[k]) / servers / 1024).toFixed(1);
  console.log(
    JSON.stringify({
      servers,
      seconds,
      turnsPerMinute,
      baseRssMB: +(base.rss / MB).toFixed(1),
      rssKBPerServer: {
        started: per(started, base, "rss"),
        connected: per(withClients, base, "rss"),
        afterRun: per(end, base, "rss"),
      },
      heapKBPerServer: {
        started: per(started, base, "heapUsed"),
        connected: per(withClients, base, "heapUsed"),
        afterRun: per(end, base, "heapUsed"),
      },
      endRssMB: +(end.rss / MB).toFixed(1),
      stats: fleet.stats(),
      violations: fleet.violations.length,
    }),
  );
  child.kill();
  await fleet.close();
  process.exit(0);
}

void main();
