import { it } from "vitest";
import { startAppServer } from "./support/app-server.ts";
import { connectDevClient } from "./support/dev-client.ts";
import { startMockModel } from "./support/mock-model.ts";
it("updatedAt", async () => {
  const mock = await startMockModel();
  const a = await startAppServer({ modelUrl: mock.baseUrl, name: "upd" });
  const dev = await connectDevClient({ url: a.url, token: a.token, name: "codex_vscode" });
  const t = await dev.startThread({ cwd: a.cwd });
  mock.push({ kind: "reply", delayMs: 4000 });
  const list = async (label: string) => {
    const r = await dev.request<{ data: { id: string; updatedAt: number; recencyAt?: number }[] }>("thread/list", { limit: 10, sortKey: "updated_at" });
    const x = r.data.find((d) => d.id === t);
    console.log(label, Date.now() / 1000, JSON.stringify({ updatedAt: x?.updatedAt, recencyAt: x?.recencyAt }));
  };
  await list("before turn");
  const turn = await dev.startTurn(t, "x");
  await new Promise((r) => setTimeout(r, 1500));
  await list("mid turn");
  const done = await dev.waitForTurnCompleted(t, turn);
  console.log("completed", JSON.stringify(done.turn));
  await list("after turn");
  await new Promise((r) => setTimeout(r, 1500));
  await list("after +1.5s");
  await dev.close(); await a.dispose(); await mock.close();
}, 60_000);
