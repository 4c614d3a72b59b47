/**
 * Opsgenie Alert API v2 (docs.opsgenie.com "Alert API"): while a group fires, `POST /v2/alerts`
 * with `alias` = a hash of the group key (Opsgenie deduplicates an open alert's creates by alias,
 * so repeats raise its count instead of opening another); when it has resolved,
 * `POST /v2/alerts/{alias}/close?identifierType=alias`. The key goes in
 * `Authorization: GenieKey <key>` only and is redacted from any error.
 */
import { createHash } from "node:crypto";
import type { Severity } from "@codex-fleet/protocol/api";
import type { Secret } from "../../config/secret.ts";
import { clip, countsText, listedMembers, memberText } from "./format.ts";
import type { GroupNotification } from "./group-payload.ts";
import { joinUrl, postJson } from "./http.ts";
import type { Notifier, SendResult } from "./types.ts";

/** Opsgenie's documented limits. */
const MAX_MESSAGE = 130;
const MAX_DESCRIPTION = 15_000;
const MAX_TAG = 50;
const MAX_TAGS = 20;
const MAX_DETAIL_VALUE = 500;

const PRIORITY: Record<Severity, "P1" | "P3" | "P5"> = { critical: "P1", warning: "P3", info: "P5" };

/** The alias of a group: stable, 76 characters whatever the group key's length (≤ 512). */
export function opsgenieAlias(groupKey: string): string {
  return `codex-fleet-${createHash("sha256").update(groupKey).digest("hex")}`;
}

/** The create-alert body. */
export interface OpsgenieCreate {
  message: string;
  alias: string;
  description: string;
  tags: string[];
  details: Record<string, string>;
  entity: string;
  source: string;
  priority: "P1" | "P3" | "P5";
}

/** The create-alert body for a firing group. */
export function opsgenieCreate(n: GroupNotification, extraTags: readonly string[] = []): OpsgenieCreate {
  const { listed, more } = listedMembers(n, 50);
  const lines = listed.map((m) => `${memberText(m)}\n  ${m.dashboardUrl}`);
  const labels = Object.entries(n.groupLabels);
  const tags = [
    "codex-fleet",
    `severity:${n.severity}`,
    ...(n.test ? ["test"] : []),
    ...labels.map(([k, v]) => `${k}:${v}`),
    ...extraTags,
  ].map((t) => clip(t, MAX_TAG));
  const details: Record<string, string> = {
    firing: String(n.counts.firing),
    new: String(n.counts.new),
    resolved: String(n.counts.resolved),
    dashboard: n.dashboardUrl,
    notification: n.id,
  };
  for (const [k, v] of labels) details[k] = clip(v, MAX_DETAIL_VALUE);
  return {
    message: clip(`${n.title}`, MAX_MESSAGE),
    alias: opsgenieAlias(n.groupKey),
    description: clip(
      [
        countsText(n),
        "",
        ...lines,
        ...(more > 0 ? [`and ${more} more`] : []),
        "",
        `Open in codex-fleet: ${n.dashboardUrl}`,
      ].join("\n"),
      MAX_DESCRIPTION,
    ),
    tags: [...new Set(tags)].slice(0, MAX_TAGS),
    details,
    entity: clip(labels.map(([k, v]) => `${k}=${v}`).join(" "), 512),
    source: "codex-fleet",
    priority: PRIORITY[n.severity],
  };
}

export interface OpsgenieOptions {
  name: string;
  /** API base, e.g. https://api.opsgenie.com. */
  url: string;
  apiKey: Secret;
  tags?: readonly string[];
  timeoutMs: number;
  now?: () => number;
  allowLinkLocal?: boolean;
}

/** An Opsgenie notifier (one attempt per `send`; a test creates, then closes its own alert). */
export function createOpsgenieNotifier(opts: OpsgenieOptions): Notifier {
  const post = (path: string, body: unknown, signal?: AbortSignal): Promise<SendResult> => {
    const key = opts.apiKey.reveal();
    return postJson({
      url: joinUrl(opts.url, path),
      body: JSON.stringify(body),
      headers: { authorization: `GenieKey ${key}` },
      timeoutMs: opts.timeoutMs,
      signal,
      now: opts.now,
      allowLinkLocal: opts.allowLinkLocal,
      secrets: [key],
    });
  };
  const close = (n: GroupNotification, signal?: AbortSignal) =>
    post(
      `/v2/alerts/${encodeURIComponent(opsgenieAlias(n.groupKey))}/close?identifierType=alias`,
      {
        source: "codex-fleet",
        note: n.test ? "codex-fleet test: closed" : `Resolved in codex-fleet: ${n.title}`,
      },
      signal,
    );
  return {
    name: opts.name,
    type: "opsgenie",
    async send(n: GroupNotification, signal?: AbortSignal): Promise<SendResult> {
      if (n.status === "resolved") return close(n, signal);
      const created = await post("/v2/alerts", opsgenieCreate(n, opts.tags), signal);
      if (!n.test || !created.ok) return created;
      const closed = await close(n, signal);
      return closed.ok ? { ...created, durationMs: created.durationMs + closed.durationMs } : closed;
    },
  };
}
