/**
 * The hand-written validators of the hottest notifications (normalize.ts fastNotification) against
 * the zod path they stand in for: whatever the fast path accepts, zod accepts too and yields the
 * same event; what it declines goes to zod, which decides. A table of edge cases, the captured
 * frames of the real 0.169.0, and 20,000 generated mutations of valid params.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fastNotification, normalizeFrame, zodNotification } from "../src/normalize.ts";

const AT = 1_800_000_000_000;
const HOT = [
  "item/started",
  "item/completed",
  "thread/tokenUsage/updated",
  "turn/started",
  "turn/completed",
  "thread/status/changed",
  "account/rateLimits/updated",
] as const;

const counts = (n: number) => ({
  totalTokens: 10 * n,
  inputTokens: 8 * n,
  cachedInputTokens: 2 * n,
  cacheWriteInputTokens: n,
  outputTokens: 2 * n,
  reasoningOutputTokens: n,
});
function validParams(method: (typeof HOT)[number]): Record<string, unknown> {
  switch (method) {
    case "thread/tokenUsage/updated":
      return {
        threadId: "th-1",
        turnId: "tu-1",
        tokenUsage: { total: counts(3), last: counts(1), modelContextWindow: 400_000 },
      };
    case "turn/started":
    case "turn/completed":
      return {
        threadId: "th-1",
        turn: {
          id: "tu-1",
          status: method === "turn/started" ? "inProgress" : "completed",
          error: null,
          items: [],
          startedAt: 1_765_000_000,
          completedAt: 1_765_000_012.5,
          durationMs: 12_500,
        },
      };
    case "thread/status/changed":
      return { threadId: "th-1", status: { type: "active", activeFlags: ["waitingOnApproval"] } };
    case "account/rateLimits/updated":
      return {
        rateLimits: {
          limitId: "codex",
          limitName: null,
          primary: { usedPercent: 42.5, windowDurationMins: 300, resetsAt: 1_765_003_600 },
          secondary: { usedPercent: 7, windowDurationMins: 10_080, resetsAt: 1_765_500_000 },
          credits: { hasCredits: true, unlimited: false, balance: "12.50" },
          planType: "pro",
          rateLimitReachedType: null,
        },
      };
    default:
      return {
        threadId: "th-1",
        turnId: "tu-1",
        item: { id: "it-1", type: "commandExecution", status: "inProgress" },
      };
  }
}

/** The fast path may decline (null); when it answers, it is zod's answer. */
function expectSame(method: string, params: unknown): "fast" | "zod" {
  const fast = fastNotification(method, params, AT);
  const slow = zodNotification(method, params, AT);
  if (fast === null) return "zod";
  expect(slow).toEqual({ type: "event", event: fast });
  return "fast";
}

const LONG = "x".repeat(201);
const VALUES: unknown[] = [
  undefined,
  null,
  0,
  -0,
  -1,
  1.5,
  2 ** 53,
  Number.MAX_SAFE_INTEGER,
  "",
  "a",
  "a\u0000b",
  LONG,
  "y".repeat(200),
  "z".repeat(5000),
  true,
  [],
  [1],
  {},
  { inProgress: true },
];

/** Deterministic PRNG (mulberry32): the same cases on every run. */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Paths of every value inside `v` (objects only). */
function paths(v: unknown, at: string[] = []): string[][] {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return [at];
  return [at, ...Object.entries(v).flatMap(([k, x]) => paths(x, [...at, k]))];
}

function mutate(params: Record<string, unknown>, random: () => number): unknown {
  const copy = structuredClone(params);
  const all = paths(copy);
  const n = 1 + Math.floor(random() * 3);
  for (let i = 0; i < n; i++) {
    const path = all[Math.floor(random() * all.length)] as string[];
    const value = VALUES[Math.floor(random() * VALUES.length)];
    if (path.length === 0) return value;
    let o = copy as Record<string, unknown>;
    for (const k of path.slice(0, -1)) {
      if (typeof o[k] !== "object" || o[k] === null) break;
      o = o[k] as Record<string, unknown>;
    }
    const key = path[path.length - 1] as string;
    if (random() < 0.2) delete o[key];
    else o[key] = value;
  }
  return copy;
}

describe("fast validators of the hottest notifications", () => {
  it("does answer valid params itself, with zod's event", () => {
    for (const m of HOT) expect(expectSame(m, validParams(m))).toBe("fast");
  });

  it.each([
    ["item/started", { threadId: "th", item: { id: "i", type: "x" } }],
    ["item/completed", { threadId: "th", turnId: null, item: { id: "i", type: LONG, status: LONG } }],
    ["item/completed", { threadId: "th", turnId: LONG, item: { id: "i", type: "t", status: 3 } }],
    ["item/completed", { threadId: "th", turnId: "a\u0000", item: { id: "i", type: "t\u0000" } }],
    ["item/started", { threadId: "th", item: { id: "", type: "x" } }],
    ["item/started", { threadId: "th", item: { id: "i", type: 1 } }],
    ["item/started", { threadId: "th", item: [] }],
    ["item/started", { threadId: LONG, item: { id: "i", type: "x" } }],
    ["item/started", { threadId: "t\u0000", item: { id: "i", type: "x" } }],
    ["item/started", []],
    ["item/started", null],
    ["thread/tokenUsage/updated", { threadId: "th", tokenUsage: { total: counts(1), last: counts(1) } }],
    [
      "thread/tokenUsage/updated",
      { threadId: "th", tokenUsage: { total: counts(1), last: counts(1), modelContextWindow: null } },
    ],
    [
      "thread/tokenUsage/updated",
      { threadId: "th", tokenUsage: { total: counts(1), last: counts(1), modelContextWindow: -1 } },
    ],
    [
      "thread/tokenUsage/updated",
      {
        threadId: "th",
        tokenUsage: { total: { ...counts(1), cacheWriteInputTokens: undefined }, last: counts(0) },
      },
    ],
    [
      "thread/tokenUsage/updated",
      {
        threadId: "th",
        tokenUsage: { total: { ...counts(1), cacheWriteInputTokens: null }, last: counts(0) },
      },
    ],
    [
      "thread/tokenUsage/updated",
      { threadId: "th", tokenUsage: { total: { ...counts(1), totalTokens: 2 ** 53 }, last: counts(0) } },
    ],
    [
      "thread/tokenUsage/updated",
      { threadId: "th", tokenUsage: { total: { ...counts(1), outputTokens: 0.5 }, last: counts(0) } },
    ],
    ["thread/tokenUsage/updated", { threadId: "th", tokenUsage: { total: counts(1), last: [] } }],
    ["turn/started", { threadId: "th", turn: { id: "t", status: "inProgress" } }],
    ["turn/started", { threadId: "th", turn: { id: "t", status: "somethingNew" } }],
    ["turn/completed", { threadId: "th", turn: { id: "t", status: "failed", error: { message: "boom" } } }],
    [
      "turn/completed",
      { threadId: "th", turn: { id: "t", status: "completed", startedAt: null, durationMs: -3 } },
    ],
    ["turn/completed", { threadId: "th", turn: { id: "t", status: "completed", startedAt: "1" } }],
    ["turn/completed", { threadId: "th", turn: { id: "t", status: 1 } }],
    ["thread/status/changed", { threadId: "th", status: { type: "idle", activeFlags: ["x"] } }],
    ["thread/status/changed", { threadId: "th", status: { type: "notLoaded" } }],
    ["thread/status/changed", { threadId: "th", status: { type: "systemError" } }],
    ["thread/status/changed", { threadId: "th", status: { type: "active" } }],
    ["thread/status/changed", { threadId: "th", status: { type: "active", activeFlags: null } }],
    ["thread/status/changed", { threadId: "th", status: { type: "active", activeFlags: [LONG, 1] } }],
    [
      "thread/status/changed",
      {
        threadId: "th",
        status: { type: "active", activeFlags: Array.from({ length: 30 }, (_, i) => `f${i}${LONG}`) },
      },
    ],
    ["thread/status/changed", { threadId: "th", status: { type: "sleeping" } }],
    ["thread/status/changed", { threadId: "th", status: "idle" }],
    ["account/rateLimits/updated", { rateLimits: {} }],
    ["account/rateLimits/updated", { rateLimits: { primary: null, secondary: null, credits: null } }],
    ["account/rateLimits/updated", { rateLimits: { limitId: LONG, primary: { usedPercent: 5 } } }],
    ["account/rateLimits/updated", { rateLimits: { primary: { usedPercent: "5" }, planType: 3 } }],
    ["account/rateLimits/updated", { rateLimits: [] }],
    ["account/rateLimits/updated", { rateLimits: null }],
    ["account/rateLimits/updated", {}],
    ["account/rateLimits/updated", null],
  ])("does agree with zod on %s %j", (method, params) => {
    expectSame(method, params);
  });

  it("does agree with zod on every captured frame of the real 0.169.0", () => {
    const dir = join(import.meta.dirname, "fixtures/real-0.169.0");
    let fast = 0;
    for (const file of readdirSync(dir))
      for (const line of readFileSync(join(dir, file), "utf8").split("\n")) {
        if (!line.trim()) continue;
        const { dir: d, frame } = JSON.parse(line) as { dir: string; frame: Record<string, unknown> };
        if (d !== "in" || !HOT.includes(frame.method as (typeof HOT)[number])) continue;
        if (expectSame(frame.method as string, frame.params) === "fast") fast++;
        expect(normalizeFrame(JSON.stringify(frame), AT).type).toBe("event");
      }
    expect(fast).toBeGreaterThan(10);
  });

  it("does agree with zod on 20,000 generated mutations of valid params", () => {
    const random = rng(13);
    const seen = { fast: 0, zod: 0 };
    for (let i = 0; i < 20_000; i++) {
      const method = HOT[i % HOT.length] as (typeof HOT)[number];
      seen[expectSame(method, mutate(validParams(method), random))]++;
    }
    // Both paths were exercised: accepted mutations and declined ones.
    expect(seen.fast).toBeGreaterThan(1000);
    expect(seen.zod).toBeGreaterThan(1000);
  });
});
