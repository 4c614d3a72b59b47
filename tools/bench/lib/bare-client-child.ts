/**
 * The ingest bench's first limit: a bare `ws` client in its own process that connects to every
 * replay endpoint, does the handshake, then only JSON-parses each frame and keeps each thread's
 * latest cumulative total — the least work any observer of the same stream can do.
 * Protocol (IPC): {urls, expectedFrames} in; {ready} once initialized; {done, frames, totalTokens}.
 */
import WebSocket from "ws";

interface Start {
  urls: string[];
  expectedFrames: number;
}

interface Notification {
  id?: number;
  method?: string;
  params?: { threadId?: string; tokenUsage?: { total?: { totalTokens?: number } } };
}

function run({ urls, expectedFrames }: Start): void {
  let initialized = 0;
  let frames = 0;
  const totals = new Map<string, number>();
  const done = () => {
    let totalTokens = 0;
    for (const t of totals.values()) totalTokens += t;
    process.send?.({ done: true, frames, totalTokens });
  };
  for (const url of urls) {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.on("open", () => {
      ws.send(
        JSON.stringify({
          id: 1,
          method: "initialize",
          params: { clientInfo: { name: "bare", version: "1" } },
        }),
      );
    });
    ws.on("message", (data) => {
      const f = JSON.parse(data.toString()) as Notification;
      if (f.method === undefined) {
        if (f.id === 1) {
          ws.send(JSON.stringify({ method: "initialized" }));
          if (++initialized === urls.length) process.send?.({ ready: true });
        }
        return;
      }
      frames++;
      if (f.method === "thread/tokenUsage/updated") {
        const id = f.params?.threadId ?? "";
        const total = f.params?.tokenUsage?.total?.totalTokens ?? 0;
        if (total > (totals.get(id) ?? 0)) totals.set(id, total);
      }
      if (frames === expectedFrames) done();
    });
    ws.on("error", (err) => process.send?.({ error: err.message }));
  }
}

process.once("message", (m: Start) => run(m));
process.on("disconnect", () => process.exit(0));
