import { startAppServer } from "../test/support/app-server.ts";
import { connectDevClient } from "../test/support/dev-client.ts";
import { startMockModel } from "../test/support/mock-model.ts";
const mock = await startMockModel();
const server = await startAppServer({ modelUrl: mock.baseUrl, name: "optout" });
try {
  const dev = await connectDevClient({ url: server.url, token: server.token, name: "codex_vscode" });
  const obs = await connectDevClient({ url: server.url, token: server.token, name: "obs", capabilities: { experimentalApi: true, optOutNotificationMethods: ["item/started", "item/completed", "thread/readState/changed", "thread/goal/cleared", "item/agentMessage/delta", "account/rateLimits/updated", "warning"] } });
  const t = await dev.startThread({ cwd: server.cwd });
  const seen: string[] = [];
  obs.waitFor((f) => { if (f.method) seen.push(f.method); return false; }, 60000).catch(() => {});
  dev.waitFor(() => false, 60000).catch(() => {});
  mock.push({ kind: "reply", text: "x".repeat(40), delayMs: 400 });
  const waitActive = obs.waitFor((f) => f.method === "thread/status/changed" && (f.params as any)?.status?.type === "active", 5000);
  const turn = dev.startTurn(t, "hi");
  await waitActive;
  await obs.request("thread/resume", { threadId: t, excludeTurns: true });
  await dev.waitForTurnCompleted(t, await turn);
  await new Promise((r) => setTimeout(r, 500));
  const count = (c: typeof dev) => { const m = new Map<string, number>(); for (const f of c.frames) if (f.method) m.set(f.method, (m.get(f.method) ?? 0) + 1); return m; };
  console.log("dev", count(dev));
  console.log("obs", count(obs));
  await dev.close(); await obs.close();
} finally {
  await server.dispose(); await mock.close();
}
process.exit(0);
