/**
 * fast-check arbitraries for what a codex app-server (or a broken or hostile one) can send: frames
 * shaped like 0.169.0's (facts §1–§4), the same with fields replaced by wrong types, huge or
 * non-finite numbers and raw number literals JSON cannot hold, deeply nested JSON, and garbage;
 * strings and ids of every length (past every limit of protocol/bounds.ts), with NUL and broken
 * surrogates.
 */
import { IGNORED_METHODS } from "@codex-fleet/protocol/wire";
import fc from "fast-check";

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Number literals JSON.stringify cannot write: spliced into the text after stringifying. */
const RAW = [
  "1e400",
  "-1e400",
  "123456789012345678901234567890",
  "-0",
  "1e-400",
  "NaN",
  "Infinity",
  "0x1F",
  "01",
];
const RAW_KEY = "\u0000raw";

/** A token counter the wire schema accepts: small, up to MAX_SAFE_INTEGER, and the edges. */
export const count = fc.oneof(fc.nat({ max: 5_000_000 }), fc.maxSafeNat(), fc.constantFrom(0, MAX_SAFE));
/** A `TokenUsageBreakdown` (with 0.169.0's extra `cacheWriteInputTokens`). */
export const counts = fc.record({
  totalTokens: count,
  inputTokens: count,
  cachedInputTokens: count,
  outputTokens: count,
  reasoningOutputTokens: count,
  cacheWriteInputTokens: count,
});
/** Thread/turn ids: a few recurring ones, so that events meet, and arbitrary strings. */
export const id = fc.oneof(
  fc.constantFrom("th-a", "th-b", "th-c", "turn-1", "turn-2"),
  fc.string({ minLength: 1, maxLength: 30 }),
);
/**
 * Ids as a hostile server sends them: mostly `id`, some past the 200-character id limit of
 * protocol/bounds.ts (random, so not compressible below Postgres' index limit), some with NUL.
 */
export const anyId = fc.oneof(
  { weight: 8, arbitrary: id },
  { weight: 1, arbitrary: fc.string({ minLength: 190, maxLength: 6000 }) },
  { weight: 1, arbitrary: fc.constantFrom("th-\u0000", "x".repeat(201)) },
);
/** Text as a hostile server sends it: ordinary, past every limit of protocol/bounds.ts, NUL, broken surrogates. */
export const text = fc.oneof(
  { weight: 8, arbitrary: fc.string() },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", minLength: 190, maxLength: 5000 }) },
  { weight: 1, arbitrary: fc.constantFrom("a\u0000b", "\uD800x", "😀".repeat(2100), "é".repeat(4200)) },
);
const nowSecs = Math.floor(Date.now() / 1000);
/** Wire times in seconds: recent, any double, and absurd ones. */
export const secs = fc.oneof(
  fc.integer({ min: nowSecs - 86_400, max: nowSecs }),
  fc.double(),
  fc.constantFrom(1e300, -5, 0),
);
/** `emittedAtMs`: recent, any double, or 1e300. */
export const ms = fc.oneof(
  fc.integer({ min: Date.now() - 86_400_000, max: Date.now() }),
  fc.double(),
  fc.constant(1e300),
);
/** A `ThreadStatus`. */
export const status = fc.oneof(
  fc.constantFrom({ type: "idle" }, { type: "notLoaded" }, { type: "systemError" }),
  fc.record({
    type: fc.constant("active"),
    activeFlags: fc.array(fc.constantFrom("waitingOnApproval", "waitingOnUserInput", "x"), { maxLength: 3 }),
  }),
);
/** A wire `Turn`. */
export const turn = fc.record({
  id,
  status: fc.constantFrom("inProgress", "completed", "failed", "interrupted"),
  error: fc.option(
    fc.record({
      message: text,
      codexErrorInfo: fc.option(
        fc.oneof(text, fc.constant({ responseStreamDisconnected: { httpStatusCode: 502 } })),
      ),
    }),
  ),
  startedAt: secs,
  completedAt: fc.option(secs),
  durationMs: fc.option(fc.oneof(fc.nat({ max: 600_000 }), fc.double(), fc.constant(1e300))),
});
/** A notification with these method and params (and sometimes an `emittedAtMs`). */
export const note = (method: fc.Arbitrary<string>, params: fc.Arbitrary<unknown>) =>
  fc.record(
    { method, params, emittedAtMs: ms },
    { requiredKeys: ["method", "params"] },
  ) as fc.Arbitrary<Json>;
const c = fc.constant;
/** Notifications, server requests and responses shaped like 0.169.0's (facts §1–§4). */
export const wellFormed: fc.Arbitrary<Json> = fc.oneof(
  note(
    c("thread/tokenUsage/updated"),
    fc.record({
      threadId: id,
      turnId: fc.option(anyId),
      tokenUsage: fc.record({ total: counts, last: counts, modelContextWindow: fc.option(count) }),
    }),
  ),
  note(
    c("thread/started"),
    fc.record({
      thread: fc.record({
        id: anyId,
        status,
        model: fc.option(text),
        cwd: fc.option(text),
        name: fc.option(text),
        createdAt: secs,
        updatedAt: secs,
        source: fc.oneof(c("vscode"), fc.jsonValue({ maxDepth: 3 })),
      }),
    }) as fc.Arbitrary<Json>,
  ),
  note(c("thread/status/changed"), fc.record({ threadId: id, status })),
  note(c("thread/closed"), fc.record({ threadId: id })),
  note(
    fc.constantFrom("turn/started", "turn/completed"),
    fc.record({ threadId: id, turn }) as fc.Arbitrary<Json>,
  ),
  note(
    c("error"),
    fc.record({
      threadId: id,
      turnId: fc.option(id),
      willRetry: fc.boolean(),
      error: fc.record({ message: text, codexErrorInfo: fc.option(text) }),
    }),
  ),
  note(
    fc.constantFrom("item/started", "item/completed"),
    fc.record({
      threadId: id,
      turnId: id,
      item: fc.record({ id: anyId, type: text, status: fc.jsonValue({ maxDepth: 1 }) }),
    }),
  ),
  note(c("model/rerouted"), fc.record({ threadId: id, turnId: id, fromModel: text, toModel: text })),
  note(c("serverRequest/resolved"), fc.record({ threadId: id, requestId: fc.oneof(fc.nat(), fc.string()) })),
  note(fc.constantFrom(...IGNORED_METHODS), fc.jsonValue({ maxDepth: 2 })),
  note(fc.string({ maxLength: 60 }), fc.jsonValue({ maxDepth: 2 })),
  fc.record({
    id: fc.oneof(fc.nat(), fc.string()),
    method: fc.constantFrom("item/commandExecution/requestApproval", "item/tool/requestUserInput", "x/y"),
    params: fc.record({ threadId: anyId, turnId: anyId, command: fc.oneof(text, fc.array(text)) }),
  }) as fc.Arbitrary<Json>,
  fc.record({
    id: fc.oneof(fc.integer(), fc.string(), c(null)),
    result: fc.jsonValue({ maxDepth: 2 }),
  }) as fc.Arbitrary<Json>,
  fc.record({
    id: fc.integer(),
    error: fc.record({ code: fc.integer(), message: fc.string() }),
  }) as fc.Arbitrary<Json>,
);

/** Every path in a JSON value, the root included. */
function paths(v: Json, at: (string | number)[] = []): (string | number)[][] {
  const out = [at];
  if (Array.isArray(v)) for (const [i, x] of v.entries()) out.push(...paths(x, [...at, i]));
  else if (v !== null && typeof v === "object")
    for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

const weird: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom(null, -1, -0.5, 0.5, 1.5, "", "x", true, [], {}, 2 ** 64, -(2 ** 53), MAX_SAFE + 2, 1e308),
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
  fc.nat({ max: RAW.length - 1 }).map((i) => ({ [RAW_KEY]: i })),
);

/** A well-formed frame with 1–3 fields replaced or deleted (or its method renamed). */
const mutated = fc
  .tuple(wellFormed, fc.array(fc.tuple(fc.nat(), fc.boolean(), weird), { minLength: 1, maxLength: 3 }))
  .map(([frame, edits]) => {
    let v = structuredClone(frame);
    for (const [pick, remove, value] of edits) {
      const all = paths(v);
      const path = all[pick % all.length] as (string | number)[];
      if (path.length === 0) {
        v = value;
        continue;
      }
      const parent = path
        .slice(0, -1)
        .reduce<Json>((o, k) => (o as Record<string, Json>)[k] as Json, v) as Record<string, Json>;
      const key = path[path.length - 1] as string;
      if (remove && !Array.isArray(parent)) delete parent[key];
      else parent[key] = value;
    }
    return v;
  });

/** JSON text, with the raw number literals spliced in. */
export const toText = (v: Json) =>
  JSON.stringify(v).replace(/\{"\\u0000raw":(\d+)\}/g, (_m, i: string) => RAW[Number(i)] as string);

const deep = fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.nat({ max: 3 })).map(([n, kind]) => {
  const obj = `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;
  if (kind === 0) return `${"[".repeat(n)}${"]".repeat(n)}`;
  if (kind === 1) return obj;
  if (kind === 2) return `{"method":"thread/started","params":{"thread":{"id":"deep","source":${obj}}}}`;
  return `{"method":"thread/closed","params":${"[".repeat(n)}`;
});

const garbage = fc.oneof(
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.json({ maxDepth: 4 }),
  fc.constantFrom(
    "",
    " ",
    "null",
    "[]",
    "{}",
    '{"id":null}',
    '{"method":42}',
    '{"method":"thread/closed"}',
    "}{",
  ),
);

/** One frame's text: mostly well-formed or mutated, some garbage, a few deeply nested. */
export const frameText = fc.oneof(
  { weight: 4, arbitrary: wellFormed.map(toText) },
  { weight: 4, arbitrary: mutated.map(toText) },
  { weight: 2, arbitrary: garbage },
  { weight: 1, arbitrary: deep },
);
