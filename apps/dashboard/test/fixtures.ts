/**
 * Realistic sample data for the dashboard's tests: a small team of five developers (targets),
 * their threads in every status, one thread's turns, a week of usage, alerts and a silence.
 * All times are relative to NOW so that "time in status" and ages are predictable.
 */
import type {
  AlertView,
  SilenceView,
  TargetView,
  ThreadDetail,
  ThreadView,
  TurnView,
  UsageCounters,
  UsageResponse,
  UsageRow,
} from "@codex-fleet/protocol/api";
import type { LimitRow, LimitsResponse } from "@codex-fleet/protocol/limits";
import type { LiveMessage } from "@codex-fleet/protocol/live";

/** The fixed "now" of every fixture: 2026-11-21 14:30:00 UTC. */
export const NOW = Date.parse("2026-11-21T14:30:00.000Z");
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const ago = (ms: number) => iso(NOW - ms);

const UA = "codex_vscode/0.169.0 (Mac OS 15.1.0; arm64) vscode/1.96.2 (codex_fleet_observer; 0.1.0)";

/** A target with defaults of a healthy connection. */
export function target(overrides: Partial<TargetView> & Pick<TargetView, "name" | "team">): TargetView {
  return {
    url: `wss://${overrides.name}-dev.example.com:4500`,
    labels: {},
    state: "open",
    reason: null,
    stateSince: ago(3 * 60 * MIN),
    lastError: null,
    userAgent: UA,
    lastEventAt: ago(20_000),
    connectedSince: ago(3 * 60 * MIN),
    threads: 0,
    activeThreads: 0,
    ...overrides,
  };
}

export const TARGETS: TargetView[] = [
  target({ name: "alice", team: "payments", labels: { site: "berlin" }, threads: 3, activeThreads: 2 }),
  target({ name: "bob", team: "payments", url: "ws://127.0.0.1:4501", threads: 3, activeThreads: 1 }),
  target({
    name: "carol",
    team: "platform",
    state: "backoff",
    reason: "unauthorized",
    stateSince: ago(12 * MIN),
    lastError: "HTTP 401: invalid websocket bearer token",
    connectedSince: null,
    lastEventAt: ago(13 * MIN),
    threads: 1,
  }),
  target({
    name: "dave",
    team: "platform",
    state: "backoff",
    reason: "refused",
    stateSince: ago(45 * MIN),
    lastError: "connect ECONNREFUSED dave-dev.example.com:4500",
    connectedSince: null,
    userAgent: null,
    lastEventAt: null,
  }),
  target({
    name: "erin",
    team: "data",
    state: "open",
    threads: 0,
    activeThreads: 0,
    lastEventAt: ago(2 * 60 * MIN),
  }),
];

/** A thread with defaults of an idle, loaded thread on alice's server. */
export function thread(overrides: Partial<ThreadView> & Pick<ThreadView, "id">): ThreadView {
  return {
    target: "alice",
    team: "payments",
    name: null,
    model: "gpt-5.5",
    cwd: "/home/alice/src/payments-api",
    repo: "acme/payments-api",
    gitBranch: "main",
    status: "idle",
    activeFlags: [],
    statusSince: ago(30 * MIN),
    lastEventAt: ago(30 * MIN),
    currentTurnId: null,
    currentTurnStartedAt: null,
    lastTurnStatus: "completed",
    lastErrorMessage: null,
    lastCodexErrorInfo: null,
    contextTokens: 41_200,
    modelContextWindow: 258_400,
    pendingRequests: [],
    totalTokens: 312_450,
    createdAt: ago(5 * 60 * MIN),
    updatedAt: ago(30 * MIN),
    ...overrides,
  };
}

export const THREAD_IDS = {
  approval: "019a8f3e-5c21-7d10-9a4e-0a11ce000001",
  working: "019a8f3e-5c21-7d10-9a4e-0a11ce000002",
  aliceIdle: "019a8f3e-5c21-7d10-9a4e-0a11ce000003",
  error: "019a8f3e-5c21-7d10-9a4e-00b0b0000001",
  input: "019a8f3e-5c21-7d10-9a4e-00b0b0000002",
  unloaded: "019a8f3e-5c21-7d10-9a4e-00b0b0000003",
  carolIdle: "019a8f3e-5c21-7d10-9a4e-0ca401000001",
} as const;

export const THREADS: ThreadView[] = [
  thread({
    id: THREAD_IDS.approval,
    name: "Add partial refunds",
    gitBranch: "feat/partial-refunds",
    status: "active",
    activeFlags: ["waitingOnApproval"],
    statusSince: ago(8 * MIN),
    lastEventAt: ago(7.5 * MIN),
    currentTurnId: "turn-a1-8",
    currentTurnStartedAt: ago(9 * MIN),
    lastTurnStatus: "completed",
    contextTokens: 236_000,
    totalTokens: 1_284_300,
    pendingRequests: [
      {
        requestId: 0,
        method: "item/commandExecution/requestApproval",
        requestKind: "command",
        turnId: "turn-a1-8",
        itemId: "call_7",
        preview: "/bin/bash -lc 'npm publish --access public'",
        sinceMs: NOW - 7.5 * MIN,
      },
    ],
  }),
  thread({
    id: THREAD_IDS.working,
    name: "Fix flaky ledger test",
    status: "active",
    statusSince: ago(2 * MIN),
    lastEventAt: ago(4_000),
    currentTurnId: "turn-a2-3",
    currentTurnStartedAt: ago(2 * MIN),
    totalTokens: 88_900,
    contextTokens: 12_300,
  }),
  thread({
    id: THREAD_IDS.aliceIdle,
    name: null,
    statusSince: ago(95 * MIN),
    repo: "acme/infra",
    gitBranch: "main",
  }),
  thread({
    id: THREAD_IDS.error,
    target: "bob",
    name: "Migrate to pgx v5",
    model: "gpt-5.5-mini",
    cwd: "/home/bob/src/ledger",
    repo: "acme/ledger",
    status: "systemError",
    statusSince: ago(6 * MIN),
    lastTurnStatus: "failed",
    lastErrorMessage: "We’re currently experiencing high demand, which may cause temporary errors.",
    lastCodexErrorInfo: "internalServerError",
    totalTokens: 402_000,
  }),
  thread({
    id: THREAD_IDS.input,
    target: "bob",
    name: "Design the retry policy",
    cwd: "/home/bob/src/ledger",
    repo: "acme/ledger",
    status: "active",
    activeFlags: ["waitingOnUserInput"],
    statusSince: ago(4 * MIN),
    currentTurnId: "turn-b2-5",
    currentTurnStartedAt: ago(5 * MIN),
    totalTokens: 51_700,
  }),
  thread({
    id: THREAD_IDS.unloaded,
    target: "bob",
    name: "Old spike",
    status: "notLoaded",
    statusSince: ago(26 * 60 * MIN),
    contextTokens: null,
    modelContextWindow: null,
  }),
  thread({
    id: THREAD_IDS.carolIdle,
    target: "carol",
    team: "platform",
    name: "Terraform plan review",
    repo: "acme/infra",
    statusSince: ago(50 * MIN),
    model: "mock-model",
  }),
];

/** A turn with the defaults of a completed gpt-5.5 turn. */
export function turn(overrides: Partial<TurnView> & Pick<TurnView, "id">): TurnView {
  return {
    threadId: THREAD_IDS.approval,
    model: "gpt-5.5",
    status: "completed",
    errorMessage: null,
    codexErrorInfo: null,
    startedAt: ago(60 * MIN),
    completedAt: ago(59 * MIN),
    durationMs: 48_000,
    inputTokens: 120_000,
    cachedInputTokens: 96_000,
    outputTokens: 3_400,
    reasoningOutputTokens: 1_200,
    totalTokens: 123_400,
    costUsd: 0.2424,
    unpricedTokens: 0,
    priceVersion: "openai-2026-10-01",
    backfill: false,
    contextTokens: 120_000,
    ...overrides,
  };
}

const APPROVAL_TURNS: TurnView[] = [
  turn({
    id: "turn-a1-1",
    startedAt: ago(70 * MIN),
    completedAt: ago(69 * MIN),
    durationMs: 41_000,
    contextTokens: 22_000,
    inputTokens: 22_000,
    cachedInputTokens: 0,
    outputTokens: 2_100,
    reasoningOutputTokens: 700,
    totalTokens: 24_100,
    costUsd: 0.1729,
    backfill: true,
  }),
  turn({
    id: "turn-a1-2",
    startedAt: ago(62 * MIN),
    completedAt: ago(60 * MIN),
    durationMs: 95_000,
    contextTokens: 61_000,
  }),
  turn({
    id: "turn-a1-3",
    status: "failed",
    startedAt: ago(55 * MIN),
    completedAt: ago(55 * MIN),
    durationMs: 600,
    errorMessage: "We’re currently experiencing high demand, which may cause temporary errors.",
    codexErrorInfo: "internalServerError",
    inputTokens: 0,
    cachedInputTokens: 0,
    outputTokens: 0,
    reasoningOutputTokens: 0,
    totalTokens: 0,
    costUsd: 0,
    contextTokens: null,
  }),
  turn({
    id: "turn-a1-4",
    startedAt: ago(50 * MIN),
    completedAt: ago(47 * MIN),
    durationMs: 182_000,
    contextTokens: 104_000,
  }),
  turn({
    id: "turn-a1-5",
    status: "interrupted",
    startedAt: ago(40 * MIN),
    completedAt: ago(39 * MIN),
    durationMs: 61_500,
    contextTokens: 150_000,
    inputTokens: 14_000,
    cachedInputTokens: 9_000,
    outputTokens: 1_200,
    reasoningOutputTokens: 400,
    totalTokens: 15_200,
    costUsd: 0.031,
  }),
  turn({
    id: "turn-a1-6",
    startedAt: ago(30 * MIN),
    completedAt: ago(27 * MIN),
    durationMs: 205_000,
    contextTokens: 188_000,
  }),
  turn({
    id: "turn-a1-7",
    startedAt: ago(20 * MIN),
    completedAt: ago(16 * MIN),
    durationMs: 251_000,
    contextTokens: 221_000,
  }),
  turn({
    id: "turn-a1-8",
    status: "inProgress",
    startedAt: ago(9 * MIN),
    completedAt: null,
    durationMs: null,
    contextTokens: 236_000,
    totalTokens: 0,
    costUsd: 0,
    inputTokens: 0,
    cachedInputTokens: 0,
    outputTokens: 0,
    reasoningOutputTokens: 0,
  }),
];

function sumTurns(turns: TurnView[]) {
  const pick = (
    key: "inputTokens" | "cachedInputTokens" | "outputTokens" | "reasoningOutputTokens" | "totalTokens",
  ) => turns.reduce((sum, item) => sum + item[key], 0);
  return {
    inputTokens: pick("inputTokens"),
    cachedInputTokens: pick("cachedInputTokens"),
    outputTokens: pick("outputTokens"),
    reasoningOutputTokens: pick("reasoningOutputTokens"),
    totalTokens: pick("totalTokens"),
  };
}

/** GET /api/v1/threads/:id of the thread waiting on approval (8 turns, every outcome). */
export const APPROVAL_DETAIL: ThreadDetail = {
  ...(THREADS[0] as ThreadView),
  counted: sumTurns(APPROVAL_TURNS),
  costUsd: APPROVAL_TURNS.reduce((sum, item) => sum + (item.costUsd ?? 0), 0),
  unpricedTokens: 0,
  turns: APPROVAL_TURNS,
};

const UNPRICED_TURNS: TurnView[] = [
  turn({
    id: "turn-c1-1",
    threadId: THREAD_IDS.carolIdle,
    model: "mock-model",
    costUsd: null,
    unpricedTokens: 123_400,
    priceVersion: null,
  }),
];

/** A thread whose model has no price: cost must read "unpriced", never $0. */
export const UNPRICED_DETAIL: ThreadDetail = {
  ...(THREADS[6] as ThreadView),
  counted: sumTurns(UNPRICED_TURNS),
  costUsd: 0,
  unpricedTokens: 123_400,
  turns: UNPRICED_TURNS,
};

export const ALERTS: AlertView[] = [
  {
    id: "al-1",
    ruleId: "approval-wait",
    kind: "waitingOnApproval",
    subjectType: "thread",
    subjectId: THREAD_IDS.approval,
    target: "alice",
    threadId: THREAD_IDS.approval,
    severity: "warning",
    state: "firing",
    summary: "alice: waiting on approval for 7m",
    pendingSince: ago(7.5 * MIN),
    firingSince: ago(2.5 * MIN),
    resolvedAt: null,
    ackBy: null,
    ackAt: null,
    silenced: false,
  },
  {
    id: "al-2",
    ruleId: "target-down",
    kind: "targetUnreachable",
    subjectType: "target",
    subjectId: "carol",
    target: "carol",
    threadId: null,
    severity: "critical",
    state: "firing",
    summary: "carol: unauthorized (401) for 12m",
    pendingSince: ago(12 * MIN),
    firingSince: ago(10 * MIN),
    resolvedAt: null,
    ackBy: null,
    ackAt: null,
    silenced: false,
  },
  {
    id: "al-3",
    ruleId: "turn-failed",
    kind: "turnFailed",
    subjectType: "thread",
    subjectId: THREAD_IDS.error,
    target: "bob",
    threadId: THREAD_IDS.error,
    severity: "critical",
    state: "resolved",
    summary: "bob: turn failed (internalServerError)",
    pendingSince: ago(80 * MIN),
    firingSince: ago(80 * MIN),
    resolvedAt: ago(70 * MIN),
    ackBy: "maria",
    ackAt: ago(75 * MIN),
    silenced: false,
  },
];

export const SILENCES: SilenceView[] = [
  {
    id: "sil-1",
    matchers: { ruleId: "budget", team: "data" },
    endsAt: iso(NOW + 3 * 60 * MIN),
    comment: "load test today",
    createdBy: "maria",
    createdAt: ago(60 * MIN),
  },
];

const ZERO: UsageCounters = {
  turns: 0,
  failedTurns: 0,
  inputTokens: 0,
  cachedInputTokens: 0,
  outputTokens: 0,
  reasoningOutputTokens: 0,
  totalTokens: 0,
  costUsd: 0,
  unpricedTokens: 0,
};

/** Sums counters of rows (what the API puts in `totals`). */
export function totalsOf(rows: UsageCounters[]): UsageCounters {
  const total = { ...ZERO };
  for (const row of rows)
    for (const key of Object.keys(ZERO) as (keyof UsageCounters)[]) total[key] += row[key];
  return total;
}

/** A usage row from turns and tokens; cost follows gpt-5.5's price, mock-model is unpriced. */
export function usageRow(
  keys: Partial<Record<"day" | "hour" | "target" | "team" | "model" | "repo", string>>,
  turns: number,
  totalTokens: number,
  failedTurns = 0,
): UsageRow {
  const inputTokens = Math.round(totalTokens * 0.96);
  const cachedInputTokens = Math.round(inputTokens * 0.72);
  const outputTokens = totalTokens - inputTokens;
  const unpriced = keys.model === "mock-model";
  const rate = keys.model === "gpt-5.5-mini" ? 0.4 : 2.1; // USD per 1M tokens, blended
  return {
    ...keys,
    turns,
    failedTurns,
    inputTokens,
    cachedInputTokens,
    outputTokens,
    reasoningOutputTokens: Math.round(outputTokens * 0.3),
    totalTokens,
    costUsd: unpriced ? 0 : Math.round(totalTokens * rate) / 1e6,
    unpricedTokens: unpriced ? totalTokens : 0,
  };
}

const DAYS = [
  "2026-11-15",
  "2026-11-16",
  "2026-11-17",
  "2026-11-18",
  "2026-11-19",
  "2026-11-20",
  "2026-11-21",
];

/** groupBy=day,model over the last 7 days. */
export const USAGE_BY_DAY_MODEL: UsageRow[] = DAYS.flatMap((day, index) => [
  usageRow(
    { day: `${day}T00:00:00.000Z`, model: "gpt-5.5" },
    40 + index * 3,
    2_400_000 + index * 310_000,
    index % 3 === 0 ? 2 : 1,
  ),
  usageRow({ day: `${day}T00:00:00.000Z`, model: "gpt-5.5-mini" }, 25 + index, 900_000 + index * 55_000, 0),
  ...(index >= 4 ? [usageRow({ day: `${day}T00:00:00.000Z`, model: "mock-model" }, 6, 180_000, 1)] : []),
]);

/** groupBy=target,team over the same window. */
export const USAGE_BY_TARGET: UsageRow[] = [
  usageRow({ target: "alice", team: "payments", model: "gpt-5.5" }, 160, 11_200_000, 4),
  usageRow({ target: "bob", team: "payments", model: "gpt-5.5-mini" }, 182, 7_080_000, 3),
  usageRow({ target: "carol", team: "platform", model: "mock-model" }, 18, 540_000, 3),
  usageRow({ target: "erin", team: "data", model: "gpt-5.5" }, 86, 7_400_000, 1),
].map(({ model: _model, ...row }) => row);

/** groupBy=model over the same window. */
export const USAGE_BY_MODEL: UsageRow[] = [
  usageRow({ model: "gpt-5.5" }, 334, 23_310_000, 11),
  usageRow({ model: "gpt-5.5-mini" }, 196, 7_455_000, 0),
  usageRow({ model: "mock-model" }, 18, 540_000, 3),
];

/** A UsageResponse whose totals are the sum of its rows. */
export function usageResponse(
  rows: UsageRow[],
  groupBy: UsageResponse["groupBy"],
  from = "2026-11-15T00:00:00.000Z",
  to = iso(NOW),
): UsageResponse {
  return { from, to, groupBy, rows, totals: totalsOf(rows) };
}

/** The first live frame. */
export function snapshotMessage(
  overrides: Partial<Extract<LiveMessage, { type: "snapshot" }>> = {},
): Extract<LiveMessage, { type: "snapshot" }> {
  return {
    type: "snapshot",
    serverTimeMs: NOW,
    targets: TARGETS,
    threads: THREADS,
    alerts: ALERTS.filter((alert) => alert.state !== "resolved"),
    ...overrides,
  };
}

/** A plan-limit row (GET /api/v1/limits) of alice with defaults: a 5-hour window on track. */
export function limitRow(overrides: Partial<LimitRow> & Pick<LimitRow, "target" | "team">): LimitRow {
  return {
    limitId: "codex",
    limitName: null,
    planType: "plus",
    primary: {
      usedPercent: 20,
      windowDurationMins: 300,
      resetsAt: iso(NOW + 180 * MIN),
      observedAt: ago(2 * MIN),
    },
    secondary: null,
    credits: null,
    rateLimitReachedType: null,
    spendControlReached: null,
    observedAt: ago(2 * MIN),
    forecast: {
      primary: { status: "onTrack", exhaustsAt: null, burnPctPerHour: 4, method: "windowAverage" },
      secondary: null,
    },
    ...overrides,
  };
}

/** Four developers' limits, in the order the collector sends them (most urgent first). */
export const LIMIT_ROWS: LimitRow[] = [
  limitRow({
    target: "bob",
    team: "payments",
    primary: {
      usedPercent: 100,
      windowDurationMins: 300,
      resetsAt: iso(NOW + 60 * MIN),
      observedAt: ago(5 * MIN),
    },
    secondary: {
      usedPercent: 72,
      windowDurationMins: 10080,
      resetsAt: iso(NOW + 2 * 1440 * MIN),
      observedAt: ago(5 * MIN),
    },
    credits: { hasCredits: true, unlimited: false, balance: "12.5" },
    rateLimitReachedType: "workspace_member_credits_depleted",
    observedAt: ago(5 * MIN),
    forecast: {
      primary: { status: "exhausted", exhaustsAt: null, burnPctPerHour: null, method: null },
      secondary: { status: "onTrack", exhaustsAt: null, burnPctPerHour: 0.9, method: "windowAverage" },
    },
  }),
  limitRow({
    target: "alice",
    team: "payments",
    primary: {
      usedPercent: 82,
      windowDurationMins: 300,
      resetsAt: iso(NOW + 180 * MIN),
      observedAt: ago(2 * MIN),
    },
    secondary: {
      usedPercent: 40,
      windowDurationMins: 10080,
      resetsAt: iso(NOW + 3 * 1440 * MIN),
      observedAt: ago(2 * MIN),
    },
    forecast: {
      primary: {
        status: "exhausts",
        exhaustsAt: iso(NOW + 40 * MIN),
        burnPctPerHour: 27,
        method: "recentSlope",
      },
      secondary: { status: "onTrack", exhaustsAt: null, burnPctPerHour: 0.6, method: "windowAverage" },
    },
  }),
  limitRow({
    target: "carol",
    team: "platform",
    planType: "pro",
    primary: {
      usedPercent: 10,
      windowDurationMins: 300,
      resetsAt: iso(NOW + 240 * MIN),
      observedAt: ago(MIN),
    },
  }),
  limitRow({
    target: "erin",
    team: "data",
    primary: {
      usedPercent: 30,
      windowDurationMins: 300,
      resetsAt: iso(NOW - 10 * MIN),
      observedAt: ago(6 * 60 * MIN),
    },
    observedAt: ago(6 * 60 * MIN),
    forecast: {
      primary: { status: "reset", exhaustsAt: null, burnPctPerHour: null, method: null },
      secondary: null,
    },
  }),
];

/** GET /api/v1/limits: the rows above and dave, signed in with an API key. */
export const LIMITS_RESPONSE: LimitsResponse = {
  rows: LIMIT_ROWS,
  unavailable: [
    { target: "dave", team: "platform", reason: "codex account authentication required to read rate limits" },
  ],
};
