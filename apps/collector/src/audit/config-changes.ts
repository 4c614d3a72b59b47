/**
 * Changes made by editing the config file (issue 17's "rule changes"): the alert rules, budgets,
 * price overrides and alert routing have no API, so their changes reach the audit log here. At
 * each start, every section is fingerprinted; a section whose fingerprint differs from the last
 * one recorded gets one `config.change` row (principal "config file") naming what was added,
 * removed and changed, by id. Unchanged sections write nothing, so the log shows one row per edit,
 * not one per start. None of these sections holds a secret (receivers, which do, are left out).
 */
import { createHash } from "node:crypto";
import type { DbPool } from "@codex-fleet/db/client";
import { recordConfigSection } from "@codex-fleet/db/repositories/audit-repository";
import type { Config } from "../config/schema.ts";
import type { Logger } from "../logger.ts";

/** A section of the config, and how its entries are named in the row's summary. */
interface Section {
  name: string;
  value: unknown;
  /** An entry's id; null: the section is one object, described as changed as a whole. */
  idOf: ((entry: unknown) => string) | null;
}

const field = (entry: unknown, key: string): string =>
  String((entry as Record<string, unknown> | null)?.[key] ?? "");

/** The audited sections of `config`. */
export function configSections(config: Config): Section[] {
  return [
    { name: "alerts.rules", value: config.alerts.rules, idOf: (r) => field(r, "id") },
    { name: "alerts.route", value: config.alerts.route ?? null, idOf: null },
    { name: "alerts.inhibit", value: config.alerts.inhibit, idOf: null },
    { name: "budgets", value: config.budgets, idOf: (b) => field(b, "id") },
    {
      name: "pricing.overrides",
      value: config.pricing.overrides,
      idOf: (o) => `${field(o, "model")}@${field(o, "effectiveFrom")}`,
    },
  ];
}

/** JSON with object keys sorted, so that equal values print equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** What changed between the value recorded last time and this one, by entry id. */
export function describeChange(
  previous: unknown | null,
  current: unknown,
  idOf: Section["idOf"],
): Record<string, unknown> {
  if (previous === null) return { first: true };
  if (idOf === null || !Array.isArray(previous) || !Array.isArray(current)) return { changed: true };
  const before = new Map(previous.map((e) => [idOf(e), canonicalJson(e)]));
  const after = new Map(current.map((e) => [idOf(e), canonicalJson(e)]));
  return {
    added: [...after.keys()].filter((id) => !before.has(id)),
    removed: [...before.keys()].filter((id) => !after.has(id)),
    changed: [...after].filter(([id, json]) => before.has(id) && before.get(id) !== json).map(([id]) => id),
  };
}

/** Record the sections that changed since the last start; never fails the start (logs instead). */
export async function auditConfigChanges(args: {
  pool: DbPool;
  config: Config;
  now: () => number;
  log: Logger;
}): Promise<string[]> {
  const recorded: string[] = [];
  for (const s of configSections(args.config)) {
    const json = canonicalJson(s.value);
    try {
      const wrote = await recordConfigSection({
        pool: args.pool,
        atMs: args.now(),
        section: s.name,
        fingerprint: createHash("sha256").update(json).digest("hex"),
        value: JSON.parse(json) as unknown,
        describe: (previous) => describeChange(previous, s.value, s.idOf),
      });
      if (wrote) recorded.push(s.name);
    } catch (err) {
      args.log.error({ err, section: s.name }, "audit: could not record a change of the config file");
    }
  }
  if (recorded.length > 0) args.log.info({ sections: recorded }, "audit: config file changes recorded");
  return recorded;
}
