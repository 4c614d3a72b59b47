/** Query-parameter parsing that names the bad parameter in a 400. */
import { timeToMs } from "@codex-fleet/protocol/api";
import { badParam } from "./errors.ts";

type Query = Record<string, unknown>;

/** Reject parameters the route does not know (a typo must not be silently ignored). */
export function rejectUnknown(q: Query, known: readonly string[]): void {
  for (const k of Object.keys(q))
    if (!known.includes(k)) throw badParam(k, `unknown parameter (known: ${known.join(", ")})`);
}

export function optString(q: Query, name: string, max = 500): string | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw badParam(name, "must be given once");
  if (v.length > max) throw badParam(name, `must be at most ${max} characters`);
  return v;
}

/** A comma-separated list (`team=a,b`), deduplicated, empty items dropped. */
export function optList(q: Query, name: string): string[] | undefined {
  const v = optString(q, name, 5000);
  if (v === undefined) return undefined;
  const items = [
    ...new Set(
      v
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== ""),
    ),
  ];
  if (items.length === 0) throw badParam(name, "must not be empty");
  if (items.length > 200) throw badParam(name, "at most 200 values");
  return items;
}

/** An ISO 8601 date/time or epoch milliseconds (the protocol's `timeToMs`). */
export function optTime(q: Query, name: string): number | undefined {
  const v = optString(q, name, 100);
  if (v === undefined) return undefined;
  const ms = timeToMs(v);
  if (!Number.isFinite(ms))
    throw badParam(
      name,
      `'${v}' is not an ISO 8601 time or epoch milliseconds between 1970-01-01 and 9999-12-31`,
    );
  return ms;
}

export function optInt(q: Query, name: string, min: number, max: number): number | undefined {
  const v = optString(q, name, 20);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw badParam(name, "must be an integer");
  const n = Number(v);
  if (n < min || n > max) throw badParam(name, `must be between ${min} and ${max}`);
  return n;
}

export function optEnum<T extends string>(q: Query, name: string, values: readonly T[]): T | undefined {
  const v = optString(q, name, 100);
  if (v === undefined) return undefined;
  if (!(values as readonly string[]).includes(v)) throw badParam(name, `must be one of ${values.join(", ")}`);
  return v as T;
}
