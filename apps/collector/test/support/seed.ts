/**
 * Seven days of realistic fleet history for the browser test and the screenshots, written through
 * the collector's real write path (`writeIngestBatch`: thread snapshots, turn patches and
 * cumulative usage reports with historic `atMs`, priced by the real pricer) after `syncTargets`
 * registered the developers' targets (the rollup takes each row's team from its target).
 * Deterministic for a given `nowMs`: a small seeded PRNG, no Math.random.
 */
import type { DbPool } from "@codex-fleet/db/client";
import { writeIngestBatch } from "@codex-fleet/db/repositories/ingest-repository";
import type {
  PriceFn,
  ThreadSnapshot,
  TurnPatchRow,
  UsageReportRow,
} from "@codex-fleet/db/repositories/ingest-types";
import { syncTargets } from "@codex-fleet/db/repositories/targets-repository";

const MIN_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** One seeded developer (a target of the collector). */
export interface SeedDeveloper {
  name: string;
  team: string;
  /** `owner/name` on github.com. */
  repos: string[];
  /** Models with relative weights. */
  models: [model: string, weight: number][];
  /** Threads on a working day (min, max). */
  threadsPerDay: [number, number];
  /** Reachable in the test fleet: its recent threads are still loaded (idle), not unloaded. */
  online: boolean;
  /** How much context this developer's threads carry (1 = typical): spend differs per person. */
  scale: number;
}

/** The fleet the screenshots show: three teams, six developers, five models (one unpriced). */
export const SEED_DEVELOPERS: SeedDeveloper[] = [
  {
    name: "alice",
    team: "payments",
    repos: ["acme/payments-api", "acme/checkout-web"],
    models: [
      ["gpt-5.4", 6],
      ["gpt-5.5", 2],
    ],
    threadsPerDay: [2, 4],
    online: true,
    scale: 1.2,
  },
  {
    name: "bob",
    team: "payments",
    repos: ["acme/payments-api", "acme/ledger"],
    models: [
      ["gpt-5.2-codex", 5],
      ["gpt-5.4", 3],
    ],
    threadsPerDay: [2, 3],
    online: true,
    scale: 1,
  },
  {
    name: "carol",
    team: "search",
    repos: ["acme/search-indexer", "acme/query-service"],
    models: [
      ["gpt-5.5", 5],
      ["gpt-5.4", 2],
    ],
    threadsPerDay: [2, 4],
    online: true,
    scale: 1.7,
  },
  {
    name: "dave",
    team: "search",
    repos: ["acme/search-ui"],
    models: [
      ["gpt-5.4-mini", 5],
      ["gpt-5.4", 1],
    ],
    threadsPerDay: [1, 3],
    online: false,
    scale: 0.55,
  },
  {
    name: "erin",
    team: "platform",
    repos: ["acme/infra-terraform", "acme/observability"],
    models: [
      ["gpt-5.4", 4],
      ["gpt-5.2-codex", 2],
    ],
    threadsPerDay: [1, 3],
    online: false,
    scale: 0.8,
  },
  {
    name: "frank",
    team: "platform",
    repos: ["acme/platform-tools"],
    models: [
      ["local-llama", 4],
      ["gpt-5.4-mini", 3],
    ],
    threadsPerDay: [2, 3],
    online: true,
    scale: 0.9,
  },
];

const TASKS: Record<string, string[]> = {
  "acme/payments-api": [
    "Add idempotency keys to refund endpoint",
    "Fix rounding in multi-currency settlement",
    "Retry webhook deliveries with backoff",
    "Migrate card vault client to v3 SDK",
    "Write tests for partial captures",
    "Explain the chargeback state machine",
  ],
  "acme/checkout-web": [
    "Split checkout form into steps",
    "Fix Safari autofill on postcode field",
    "Add Apple Pay button behind a flag",
    "Lazy-load the address autocomplete",
  ],
  "acme/ledger": [
    "Reconcile ledger drift report",
    "Add double-entry invariant check",
    "Speed up month-end close query",
    "Port CSV exporter to streaming",
  ],
  "acme/search-indexer": [
    "Shard the product index by region",
    "Backfill embeddings for new catalog",
    "Fix stale synonyms after reindex",
    "Profile the tokenizer hot path",
    "Add dead-letter queue for failed docs",
  ],
  "acme/query-service": [
    "Cache facet counts per tenant",
    "Tune BM25 weights for short queries",
    "Add query timeouts and partial results",
  ],
  "acme/search-ui": [
    "Keyboard navigation in results list",
    "Highlight matched terms in snippets",
    "Fix infinite scroll double fetch",
    "Add empty-state suggestions",
  ],
  "acme/infra-terraform": [
    "Move staging to managed Postgres 16",
    "Tighten IAM policy for CI runners",
    "Add budget alarms per account",
    "Upgrade EKS node groups",
  ],
  "acme/observability": [
    "Dashboards for checkout latency SLO",
    "Drop high-cardinality labels",
    "Alert on queue consumer lag",
  ],
  "acme/platform-tools": [
    "CLI command to rotate service tokens",
    "Generate runbooks from alert rules",
    "Fix flaky e2e test harness",
    "Scaffold new service template",
  ],
};

const BRANCH_PREFIX = ["feat", "fix", "chore", "refactor"];

/** Failures as codex 0.169.0 reports them (facts §3): codexErrorInfo and message. */
const FAILURES: [info: string, message: string][] = [
  ["internalServerError", "We’re currently experiencing high demand, which may cause temporary errors."],
  [
    '{"responseStreamDisconnected":{"httpStatusCode":502}}',
    "stream disconnected before completion: error sending request",
  ],
  ["contextWindowExceeded", "Your input exceeds the context window of this model."],
  ["usageLimitExceeded", "You've hit your usage limit. Try again later."],
];

/** Context window codex reports per model (`modelContextWindow`). */
function contextWindowOf(model: string): number {
  return model === "local-llama" ? 131_072 : 272_000;
}

/** Threads whose status the test drives live (scripted peers) or shows on a page. */
export interface SeedHighlights {
  /** bob: a long thread, active again today (the scripted peer starts a turn on it). */
  bobActive: string;
  /** carol: a thread that will wait on user input. */
  carolInput: string;
  /** frank: the thread whose last turn failed (status systemError). */
  frankError: string;
  /** The thread the Thread page screenshot shows (rich history: failures, interruption, context). */
  showcase: string;
}

/** What was written. */
export interface SeedSummary {
  threads: number;
  turns: number;
  failedTurns: number;
  interruptedTurns: number;
  highlights: SeedHighlights;
}

/** mulberry32: tiny, deterministic PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type Rand = () => number;
const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pickOne = <T>(r: Rand, list: readonly T[]): T => list[Math.floor(r() * list.length)] as T;

function pickWeighted(r: Rand, items: [string, number][]): string {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let x = r() * total;
  for (const [item, w] of items) {
    x -= w;
    if (x <= 0) return item;
  }
  return items[0]?.[0] ?? "gpt-5.4";
}

/** A UUIDv7-looking id (time-ordered like codex's), deterministic from the PRNG. */
function idAt(r: Rand, atMs: number): string {
  const hex = (n: number, len: number) => Math.floor(n).toString(16).padStart(len, "0").slice(-len);
  const t = hex(atMs, 12);
  const rand = (len: number) => Array.from({ length: len }, () => hex(r() * 16, 1)).join("");
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${rand(3)}-${hex(8 + r() * 4, 1)}${rand(3)}-${rand(12)}`;
}

interface PlannedTurn {
  id: string;
  startedAtMs: number;
  completedAtMs: number;
  status: "completed" | "failed" | "interrupted";
  failure: [string, string] | null;
  /** Usage of this turn (0 input for a turn that failed before any model response). */
  input: number;
  cached: number;
  output: number;
  reasoning: number;
  contextTokens: number;
}

interface PlannedThread {
  dev: SeedDeveloper;
  id: string;
  name: string;
  repo: string;
  branch: string;
  model: string;
  createdAtMs: number;
  turns: PlannedTurn[];
  status: ThreadSnapshot["status"];
}

/** Plan one thread's turns from `startMs`: context grows per turn, each turn makes several model calls. */
function planTurns(
  r: Rand,
  startMs: number,
  count: number,
  model: string,
  endByMs: number,
  opts: { forceFailure?: boolean; forceInterrupt?: boolean; scale?: number } = {},
): PlannedTurn[] {
  const window = contextWindowOf(model);
  const scale = opts.scale ?? 1;
  const turns: PlannedTurn[] = [];
  let at = startMs;
  let context = Math.round(int(r, 9_000, 16_000) * scale);
  const failAt = opts.forceFailure ? Math.max(1, count - 4) : -1;
  const interruptAt = opts.forceInterrupt ? Math.max(2, count - 7) : -1;
  for (let i = 0; i < count; i++) {
    const durationMs = int(r, 25, 380) * 1000;
    if (at + durationMs > endByMs) break;
    const roll = r();
    const status: PlannedTurn["status"] =
      i === failAt || (failAt < 0 && roll < 0.045)
        ? "failed"
        : i === interruptAt || (interruptAt < 0 && roll > 0.97)
          ? "interrupted"
          : "completed";
    // A codex turn re-sends the whole context on every model call (tool loop): input ≫ context.
    const calls = status === "completed" ? int(r, 3, 14) : int(r, 0, 3);
    let input = 0;
    for (let c = 0; c < calls; c++) input += context + c * int(r, 800, 2_400);
    const cached = calls === 0 ? 0 : Math.round(input * (0.62 + r() * 0.28));
    const output = calls === 0 ? 0 : calls * int(r, 180, 900);
    const reasoning = Math.round(output * (0.25 + r() * 0.35));
    context = Math.min(Math.round(window * 0.93), context + Math.round(int(r, 4_000, 19_000) * scale));
    const failure = status === "failed" ? pickOne(r, FAILURES) : null;
    turns.push({
      id: idAt(r, at),
      startedAtMs: at,
      completedAtMs: at + durationMs,
      status,
      failure,
      input,
      cached,
      output,
      reasoning,
      contextTokens: context,
    });
    at += durationMs + int(r, 1, 14) * MIN_MS;
  }
  return turns;
}

const HIGHLIGHT_NAMES = [
  "Add idempotency keys to refund endpoint",
  "Backfill embeddings for new catalog",
  "Fix flaky e2e test harness",
];

type Fixed = Partial<Pick<PlannedThread, "name" | "repo" | "branch" | "model" | "status">> & {
  forceFailure?: boolean;
  forceInterrupt?: boolean;
  scale?: number;
};

function plan(nowMs: number, seed: number): { threads: PlannedThread[]; highlights: SeedHighlights } {
  const r = prng(seed);
  const todayMs = Math.floor(nowMs / DAY_MS) * DAY_MS;
  const threads: PlannedThread[] = [];
  const recentNames = new Set(HIGHLIGHT_NAMES);
  const newThread = (
    dev: SeedDeveloper,
    startMs: number,
    turnCount: number,
    endByMs: number,
    fixed: Fixed = {},
  ): PlannedThread => {
    const repo = fixed.repo ?? pickOne(r, dev.repos);
    const tasks = TASKS[repo] ?? ["Investigate a failing test"];
    // Threads of the last hours show side by side on the Fleet page: no two with one name.
    const fresh = tasks.filter((task) => !recentNames.has(task));
    const name = fixed.name ?? pickOne(r, fresh.length > 0 ? fresh : tasks);
    if (nowMs - startMs < 12 * HOUR_MS) recentNames.add(name);
    const model = fixed.model ?? pickWeighted(r, dev.models);
    const slug = name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .split("-")
      .slice(0, 4)
      .join("-");
    const t: PlannedThread = {
      dev,
      id: idAt(r, startMs),
      name,
      repo,
      branch: fixed.branch ?? `${pickOne(r, BRANCH_PREFIX)}/${slug}`,
      model,
      createdAtMs: startMs - int(r, 1, 20) * 1000,
      turns: planTurns(r, startMs, turnCount, model, endByMs, { scale: dev.scale, ...fixed }),
      status: fixed.status ?? "notLoaded",
    };
    if (t.turns.length > 0) threads.push(t);
    return t;
  };

  for (let day = 6; day >= 0; day--) {
    const dayStart = todayMs - day * DAY_MS;
    const weekday = new Date(dayStart).getUTCDay();
    const weekend = weekday === 0 || weekday === 6;
    for (const dev of SEED_DEVELOPERS) {
      const [lo, hi] = dev.threadsPerDay;
      const n = weekend ? int(r, 0, 1) : int(r, lo, hi);
      for (let k = 0; k < n; k++) {
        // Working hours 07:00–18:00 UTC; today only up to a few minutes ago.
        const start = dayStart + int(r, 7 * 60, 17 * 60) * MIN_MS;
        const endBy = day === 0 ? nowMs - 5 * MIN_MS : dayStart + 20 * HOUR_MS;
        if (start >= endBy) continue;
        newThread(dev, start, int(r, 2, 9), endBy);
      }
    }
  }

  // Highlights: recent threads with a known shape, whatever today's hour.
  const dev = (name: string) => SEED_DEVELOPERS.find((d) => d.name === name) as SeedDeveloper;
  const showcase = newThread(dev("bob"), nowMs - 6 * HOUR_MS, 14, nowMs - 20 * MIN_MS, {
    name: "Add idempotency keys to refund endpoint",
    repo: "acme/payments-api",
    branch: "feat/refund-idempotency-keys",
    model: "gpt-5.4",
    status: "idle",
    forceFailure: true,
    forceInterrupt: true,
    scale: 1.5, // a long session: the context-pressure chart climbs towards the 90% line
  });
  const carol = newThread(dev("carol"), nowMs - 3 * HOUR_MS, 6, nowMs - 10 * MIN_MS, {
    name: "Backfill embeddings for new catalog",
    repo: "acme/search-indexer",
    branch: "feat/backfill-embeddings",
    model: "gpt-5.5",
    status: "idle",
  });
  const frank = newThread(dev("frank"), nowMs - 2 * HOUR_MS, 5, nowMs - 8 * MIN_MS, {
    name: "Fix flaky e2e test harness",
    repo: "acme/platform-tools",
    branch: "fix/flaky-e2e-harness",
    model: "local-llama",
    status: "systemError",
  });
  // Its last turn failed before any model response (facts §3: no token usage, status systemError).
  const lastFrank = frank.turns[frank.turns.length - 1];
  if (lastFrank)
    Object.assign(lastFrank, {
      status: "failed",
      failure: FAILURES[0],
      input: 0,
      cached: 0,
      output: 0,
      reasoning: 0,
    });

  // Every connected developer also finished something in the last hours: loaded, idle.
  for (const d of SEED_DEVELOPERS.filter((x) => x.online)) {
    newThread(d, nowMs - int(r, 90, 240) * MIN_MS, int(r, 3, 7), nowMs - int(r, 12, 40) * MIN_MS, {
      status: "idle",
    });
  }

  // Recent threads of connected developers are still loaded (idle); the rest have unloaded.
  for (const t of threads) {
    const last = t.turns[t.turns.length - 1];
    if (t.status === "notLoaded" && t.dev.online && last && nowMs - last.completedAtMs < 90 * MIN_MS)
      t.status = "idle";
    // A loaded thread whose last turn failed is in systemError until its next turn (facts §3):
    // idle ones ended well.
    if (t.status === "idle" && last?.status === "failed")
      Object.assign(last, { status: "completed", failure: null });
  }
  return {
    threads,
    highlights: { bobActive: showcase.id, carolInput: carol.id, frankError: frank.id, showcase: showcase.id },
  };
}

function snapshot(t: PlannedThread): ThreadSnapshot {
  const last = t.turns[t.turns.length - 1] as PlannedTurn;
  const home = `/home/${t.dev.name}/src/${t.repo.split("/")[1]}`;
  const failed = last.status === "failed" ? last.failure : null;
  return {
    id: t.id,
    targetId: t.dev.name,
    model: t.model,
    modelProvider: t.model === "local-llama" ? "ollama" : "openai",
    cwd: home,
    repo: `github.com/${t.repo}`,
    gitBranch: t.branch,
    gitOrigin: `git@github.com:${t.repo}.git`,
    source: t.dev.name === "frank" ? "cli" : "vscode",
    name: t.name,
    cliVersion: "0.169.0",
    status: t.status,
    activeFlags: [],
    statusSinceMs: last.completedAtMs,
    lastEventAtMs: last.completedAtMs,
    currentTurnId: null,
    currentTurnStartedAtMs: null,
    lastTurnId: last.id,
    lastTurnStatus: last.status,
    lastErrorMessage: failed ? failed[1] : null,
    lastCodexErrorInfo: failed ? failed[0] : null,
    contextTokens: last.contextTokens,
    modelContextWindow: contextWindowOf(t.model),
    pendingRequests: [],
    createdAtMs: t.createdAtMs,
    updatedAtMs: last.completedAtMs,
    parentThreadId: null,
    subAgentKind: null,
    subAgentDepth: null,
  };
}

/**
 * Register the developers' targets and write seven days of history ending at `nowMs`.
 * Call before the collector starts: the fleet loads threads from the database at start.
 */
export async function seedFleetHistory(args: {
  pool: DbPool;
  nowMs: number;
  price: PriceFn;
  seed?: number;
}): Promise<SeedSummary> {
  const { pool, nowMs, price } = args;
  await syncTargets({
    pool,
    targets: SEED_DEVELOPERS.map((d) => ({
      id: d.name,
      team: d.team,
      url: `ws://${d.name}-dev.acme.internal:4500`,
      labels: {},
    })),
  });
  const { threads, highlights } = plan(nowMs, args.seed ?? 20_261_121);
  const summary: SeedSummary = { threads: 0, turns: 0, failedTurns: 0, interruptedTurns: 0, highlights };
  for (const t of threads) {
    const turns: TurnPatchRow[] = [];
    const usage: UsageReportRow[] = [];
    const total = {
      inputTokens: 0,
      cachedInputTokens: 0,
      outputTokens: 0,
      reasoningOutputTokens: 0,
      totalTokens: 0,
    };
    for (const turn of t.turns) {
      turns.push({
        id: turn.id,
        threadId: t.id,
        targetId: t.dev.name,
        model: t.model,
        status: turn.status,
        errorMessage: turn.failure?.[1] ?? null,
        codexErrorInfo: turn.failure?.[0] ?? null,
        startedAtMs: turn.startedAtMs,
        completedAtMs: turn.completedAtMs,
        durationMs: turn.completedAtMs - turn.startedAtMs,
        contextTokens: turn.contextTokens,
      });
      if (turn.input === 0) continue;
      const last = {
        inputTokens: turn.input,
        cachedInputTokens: turn.cached,
        outputTokens: turn.output,
        reasoningOutputTokens: turn.reasoning,
        totalTokens: turn.input + turn.output,
      };
      total.inputTokens += last.inputTokens;
      total.cachedInputTokens += last.cachedInputTokens;
      total.outputTokens += last.outputTokens;
      total.reasoningOutputTokens += last.reasoningOutputTokens;
      total.totalTokens += last.totalTokens;
      // One cumulative report per turn, at the turn's last model response (facts §3: total accumulates).
      usage.push({
        threadId: t.id,
        turnId: turn.id,
        targetId: t.dev.name,
        model: t.model,
        repo: `github.com/${t.repo}`,
        atMs: turn.completedAtMs - 2_000,
        total: { ...total },
        last,
      });
    }
    await writeIngestBatch({ pool, threads: [snapshot(t)], turns, usage, price });
    summary.threads++;
    summary.turns += t.turns.length;
    summary.failedTurns += t.turns.filter((x) => x.status === "failed").length;
    summary.interruptedTurns += t.turns.filter((x) => x.status === "interrupted").length;
  }
  return summary;
}
