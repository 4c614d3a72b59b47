/**
 * Runs the real `codex app-server` through scripted scenarios and writes every frame of a developer
 * connection and a read-only observer connection to
 * `packages/protocol/test/fixtures/real-0.169.0/<scenario>.jsonl`.
 * Run: `npm run capture-real-frames --workspace @codex-fleet/codex-fakes`
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type AppServer, startAppServer } from "./app-server.ts";
import { connectDevClient, type DevClient, type Frame } from "./dev-client.ts";
import { type MockModel, type StepUsage, startMockModel } from "./mock-model.ts";

type Line = { dir: "in" | "out"; conn: "dev" | "observer"; frame: Frame };

const here = dirname(fileURLToPath(import.meta.url));
const OUT_DIR = resolve(here, "../../protocol/test/fixtures/real-0.169.0");

/** Observer opt-outs: every delta-like method, rate limits and warnings (facts §1: opt-out works). */
const OPT_OUT = [
  "item/agentMessage/delta",
  "item/plan/delta",
  "command/exec/outputDelta",
  "process/outputDelta",
  "item/commandExecution/outputDelta",
  "item/fileChange/outputDelta",
  "item/reasoning/summaryTextDelta",
  "item/reasoning/textDelta",
  "thread/realtime/item/transcript/delta",
  "thread/realtime/transcript/delta",
  "thread/realtime/outputAudio/delta",
  "account/rateLimits/updated",
  "warning",
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const usage = (input: number, cached: number, output: number, reasoning: number): StepUsage => ({
  input,
  cached,
  output,
  reasoning,
});

let sink: Line[] = [];
const written: Array<{ scenario: string; lines: number }> = [];

function flush(scenario: string): void {
  writeFileSync(resolve(OUT_DIR, `${scenario}.jsonl`), `${sink.map((l) => JSON.stringify(l)).join("\n")}\n`);
  written.push({ scenario, lines: sink.length });
  sink = [];
}

async function connect(
  server: AppServer,
  conn: "dev" | "observer",
  onIn?: (frame: Frame) => void,
): Promise<DevClient> {
  return connectDevClient({
    url: server.url,
    token: server.token,
    name: conn === "dev" ? "codex_vscode" : "codex_fleet_observer",
    capabilities:
      conn === "observer"
        ? { experimentalApi: true, requestAttestation: false, optOutNotificationMethods: OPT_OUT }
        : null,
    onFrame: (dir, frame) => {
      sink.push({ dir, conn, frame });
      if (dir === "in") onIn?.(frame);
    },
  });
}

/**
 * Returns a frame listener that subscribes the observer to every thread it hears of:
 * `thread/resume` fails until the first turn is persisted (facts §2), so it retries on each
 * later `thread/status/changed`.
 */
function autoSubscriber(getObserver: () => DevClient | null, subscribed: Set<string>) {
  const inFlight = new Set<string>();
  return (f: Frame) => {
    const observer = getObserver();
    const threadId = f.params?.threadId;
    if (!observer || f.method !== "thread/status/changed" || typeof threadId !== "string") return;
    const status = (f.params?.status as { type?: string } | undefined)?.type;
    if (status === "notLoaded" || subscribed.has(threadId) || inFlight.has(threadId)) return;
    inFlight.add(threadId);
    observer
      .request("thread/resume", { threadId, excludeTurns: true })
      .then(() => subscribed.add(threadId))
      .catch(() => undefined)
      .finally(() => inFlight.delete(threadId));
  };
}

type Rig = {
  mock: MockModel;
  server: AppServer;
  dev: DevClient;
  observer: DevClient;
  subscribed: Set<string>;
};

async function rig(name: string, mock: MockModel): Promise<Rig> {
  const server = await startAppServer({ modelUrl: mock.baseUrl, name });
  const dev = await connect(server, "dev");
  const subscribed = new Set<string>();
  let observer: DevClient | null = null;
  observer = await connect(
    server,
    "observer",
    autoSubscriber(() => observer, subscribed),
  );
  return { mock, server, dev, observer, subscribed };
}

async function closeRig(r: Rig): Promise<void> {
  await r.dev.close();
  await r.observer.close();
  await r.server.dispose();
}

/** Run one turn as the dev and wait until both connections saw its `turn/completed`. */
async function turn(r: Rig, threadId: string, text: string): Promise<string> {
  const turnId = await r.dev.startTurn(threadId, text);
  await r.dev.waitForTurnCompleted(threadId, turnId);
  await r.observer
    .waitFor(
      (f) => f.method === "turn/completed" && (f.params?.turn as { id?: string } | undefined)?.id === turnId,
      3000,
    )
    .catch(() => console.warn(`observer missed turn/completed of ${text}`));
  await sleep(150); // trailing frames (thread/readState/changed …)
  return turnId;
}

/** A thread with one warm-up turn, so that the observer is subscribed before the scenario turn. */
async function warmThread(r: Rig, approvalPolicy?: string): Promise<string> {
  const threadId = await r.dev.startThread({
    cwd: r.server.cwd,
    ...(approvalPolicy ? { approvalPolicy } : {}),
  });
  r.mock.push({ kind: "reply", usage: usage(500, 0, 20, 0) });
  await turn(r, threadId, "warm-up");
  if (!r.subscribed.has(threadId)) throw new Error("observer did not subscribe during warm-up");
  return threadId;
}

async function simpleScenario(
  mock: MockModel,
  scenario: string,
  steps: Parameters<MockModel["push"]>,
  approvalPolicy?: string,
): Promise<void> {
  const r = await rig(scenario, mock);
  const threadId = await warmThread(r, approvalPolicy);
  mock.push(...steps);
  await turn(r, threadId, scenario);
  flush(scenario);
  await closeRig(r);
}

async function main(): Promise<void> {
  mkdirSync(OUT_DIR, { recursive: true });
  const mock = await startMockModel();

  await simpleScenario(mock, "plain-turn", [{ kind: "reply", usage: usage(2000, 500, 70, 20) }]);
  await simpleScenario(mock, "tool-call-turn", [
    { kind: "toolCall", command: "touch made-by-tool.txt", usage: usage(1500, 200, 40, 10) },
    { kind: "reply", usage: usage(1600, 1400, 30, 0) },
  ]);
  await simpleScenario(mock, "http500", [{ kind: "http500" }]);
  await simpleScenario(mock, "response-failed", [{ kind: "failed" }]);

  {
    const r = await rig("interrupted", mock);
    const threadId = await warmThread(r);
    mock.push({ kind: "hang" });
    const turnId = await r.dev.startTurn(threadId, "interrupted");
    await mock.waitForHang();
    await sleep(300);
    await r.dev.interrupt(threadId, turnId);
    await r.dev.waitForTurnCompleted(threadId, turnId);
    await r.observer.waitFor((f) => f.method === "turn/completed" && f.params?.threadId === threadId, 3000);
    await sleep(150);
    mock.releaseHangs();
    flush("interrupted");
    await closeRig(r);
  }

  {
    // The dev answers after 300 ms; the observer never answers (facts §4).
    const r = await rig("approval", mock);
    r.dev.onServerRequest(async (req) => {
      if (req.method !== "item/commandExecution/requestApproval") return undefined;
      await sleep(300);
      return { decision: "accept" };
    });
    const threadId = await warmThread(r, "untrusted");
    mock.push(
      { kind: "toolCall", command: "touch approved.txt", usage: usage(1100, 0, 35, 5) },
      { kind: "reply", usage: usage(1250, 1000, 20, 0) },
    );
    await turn(r, threadId, "approval");
    flush("approval");
    await closeRig(r);
  }

  {
    // History: one thread with completed, failed and interrupted turns, and a second thread.
    const r = await rig("history", mock);
    const threadId = await warmThread(r);
    mock.push({ kind: "toolCall", command: "echo hi", usage: usage(800, 100, 25, 5) }, { kind: "reply" });
    await turn(r, threadId, "tool");
    mock.push({ kind: "http500" });
    await turn(r, threadId, "fails");
    mock.push({ kind: "hang" });
    const hung = await r.dev.startTurn(threadId, "interrupted");
    await mock.waitForHang();
    await r.dev.interrupt(threadId, hung);
    await r.dev.waitForTurnCompleted(threadId, hung);
    mock.releaseHangs();
    const other = await r.dev.startThread({ cwd: r.server.cwd });
    await turn(r, other, "second thread");
    await sleep(200);
    flush("history-setup");

    await r.observer.request("thread/loaded/list", {});
    flush("thread-loaded-list");
    await r.observer.request("thread/list", { limit: 50 });
    flush("thread-list");
    await r.observer.request("thread/turns/list", { threadId, limit: 50 });
    flush("thread-turns-list");
    await r.observer.request("thread/read", { threadId, includeTurns: true });
    flush("thread-read");

    // Cold resume: after a restart the thread is notLoaded; resuming it replays tokenUsage (facts §5).
    await r.dev.close();
    await r.observer.close();
    sink = [];
    await r.server.restart();
    const dev = await connect(r.server, "dev");
    const observer = await connect(r.server, "observer");
    await observer.request("thread/loaded/list", {});
    await observer.request("thread/list", { limit: 50 });
    await observer.request("thread/resume", { threadId, excludeTurns: true });
    await sleep(300);
    // The dev continues the thread: `total` keeps accumulating across the restart.
    await dev.request("thread/resume", { threadId, excludeTurns: true });
    mock.push({ kind: "reply", usage: usage(3000, 2500, 60, 10) });
    const after = await dev.startTurn(threadId, "after restart");
    await dev.waitForTurnCompleted(threadId, after);
    await observer.waitFor((f) => f.method === "turn/completed" && f.params?.threadId === threadId, 3000);
    await sleep(150);
    flush("cold-resume");
    await dev.close();
    await observer.close();
    await r.server.dispose();
  }

  await mock.close();
  for (const w of written) console.log(`${w.scenario}.jsonl: ${w.lines} frames`);
  console.log(`served total ${JSON.stringify(mock.served)}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
