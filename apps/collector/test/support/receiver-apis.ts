/**
 * Real local HTTP servers that behave like the receivers' public APIs as documented: they validate
 * what they are sent (400 with the reason when it does not match the documented shape), keep the
 * state a real service would (PagerDuty incidents by dedup_key, Opsgenie alerts by alias,
 * Alertmanager alerts by label set) and answer with the documented status codes. A script of
 * responses can be queued to exercise retries (5xx, 429, 4xx).
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";

export interface ApiRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

export type ApiAnswer = { status: number; body?: unknown; headers?: Record<string, string> };

export interface FakeApi {
  /** Base URL (http://127.0.0.1:port). */
  url: string;
  received: ApiRequest[];
  /** Answers that replace the next requests' normal handling, in order. */
  script(...answers: ApiAnswer[]): void;
  close(): Promise<void>;
}

/** Start a server answering with `handle` unless a scripted answer is queued. */
export async function startFakeApi(handle: (req: ApiRequest) => ApiAnswer): Promise<FakeApi> {
  const received: ApiRequest[] = [];
  const queue: ApiAnswer[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      const request: ApiRequest = {
        method: req.method ?? "",
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      received.push(request);
      let answer: ApiAnswer;
      try {
        answer = queue.shift() ?? handle(request);
      } catch (err) {
        answer = { status: 500, body: { error: String(err) } };
      }
      const text = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body ?? {});
      res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    script: (...answers) => queue.push(...answers),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

function problems(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}

// --- PagerDuty Events API v2 (developer.pagerduty.com/api-reference, "Send an Alert Event") ---

const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), "must be an ISO 8601 time");

export const PagerDutyEventSchema = z.discriminatedUnion("event_action", [
  z.object({
    routing_key: z.string().length(32),
    event_action: z.literal("trigger"),
    dedup_key: z.string().min(1).max(255).optional(),
    client: z.string().optional(),
    client_url: z.url().optional(),
    payload: z.object({
      summary: z.string().min(1).max(1024),
      source: z.string().min(1),
      severity: z.enum(["critical", "error", "warning", "info"]),
      timestamp: isoTime.optional(),
      component: z.string().optional(),
      group: z.string().optional(),
      class: z.string().optional(),
      custom_details: z.record(z.string(), z.unknown()).optional(),
    }),
    links: z.array(z.object({ href: z.url(), text: z.string().optional() })).optional(),
    images: z.array(z.unknown()).optional(),
  }),
  z.object({
    routing_key: z.string().length(32),
    event_action: z.enum(["acknowledge", "resolve"]),
    dedup_key: z.string().min(1).max(255),
  }),
]);
export type PagerDutyEventIn = z.infer<typeof PagerDutyEventSchema>;

export interface FakePagerDuty extends FakeApi {
  events: PagerDutyEventIn[];
  /** Incident state by dedup_key. */
  incidents: Map<string, "triggered" | "resolved">;
}

/** PagerDuty's Events API: POST /v2/enqueue → 202, 400 "Event object is invalid". */
export async function startPagerDuty(routingKey: string): Promise<FakePagerDuty> {
  const events: PagerDutyEventIn[] = [];
  const incidents = new Map<string, "triggered" | "resolved">();
  const api = await startFakeApi((req) => {
    if (req.method !== "POST" || req.path !== "/v2/enqueue")
      return { status: 404, body: { message: "Not found" } };
    const parsed = PagerDutyEventSchema.safeParse(parseJson(req.body));
    if (!parsed.success)
      return {
        status: 400,
        body: { status: "invalid event", message: "Event object is invalid", errors: problems(parsed.error) },
      };
    if (parsed.data.routing_key !== routingKey)
      return { status: 400, body: { status: "invalid event", message: "Invalid routing key" } };
    events.push(parsed.data);
    const key = parsed.data.dedup_key ?? `generated-${events.length}`;
    if (parsed.data.event_action === "trigger") incidents.set(key, "triggered");
    else if (parsed.data.event_action === "resolve" && incidents.has(key)) incidents.set(key, "resolved");
    return { status: 202, body: { status: "success", message: "Event processed", dedup_key: key } };
  });
  return Object.assign(api, { events, incidents });
}

// --- Opsgenie Alert API v2 (docs.opsgenie.com/docs/alert-api) ---

export const OpsgenieCreateSchema = z.object({
  message: z.string().min(1).max(130),
  alias: z.string().max(512).optional(),
  description: z.string().max(15_000).optional(),
  responders: z.array(z.unknown()).optional(),
  visibleTo: z.array(z.unknown()).optional(),
  actions: z.array(z.string().max(50)).max(10).optional(),
  tags: z.array(z.string().max(50)).max(20).optional(),
  details: z.record(z.string(), z.string()).optional(),
  entity: z.string().max(512).optional(),
  source: z.string().max(100).optional(),
  priority: z.enum(["P1", "P2", "P3", "P4", "P5"]).optional(),
  user: z.string().max(100).optional(),
  note: z.string().max(25_000).optional(),
});
export type OpsgenieCreateIn = z.infer<typeof OpsgenieCreateSchema>;
const OpsgenieCloseSchema = z.object({
  user: z.string().max(100).optional(),
  source: z.string().max(100).optional(),
  note: z.string().max(25_000).optional(),
});

export interface FakeOpsgenie extends FakeApi {
  /** Alerts by alias: open or closed, how many creates it absorbed, the last create body. */
  alerts: Map<string, { status: "open" | "closed"; count: number; create: OpsgenieCreateIn }>;
}

/** Opsgenie: POST /v2/alerts, POST /v2/alerts/:alias/close?identifierType=alias → 202; 401 without the key. */
export async function startOpsgenie(apiKey: string): Promise<FakeOpsgenie> {
  const alerts: FakeOpsgenie["alerts"] = new Map();
  const accepted = () => ({
    status: 202,
    body: { result: "Request will be processed", took: 0.01, requestId: crypto.randomUUID() },
  });
  const api = await startFakeApi((req) => {
    if (req.headers.authorization !== `GenieKey ${apiKey}`)
      return { status: 401, body: { message: "Could not authenticate", took: 0, requestId: "r" } };
    const body = parseJson(req.body);
    if (req.method === "POST" && req.path === "/v2/alerts") {
      const parsed = OpsgenieCreateSchema.safeParse(body);
      if (!parsed.success) return { status: 422, body: { message: problems(parsed.error).join("; ") } };
      const alias = parsed.data.alias ?? crypto.randomUUID();
      const open = alerts.get(alias);
      // Opsgenie de-duplicates a create on an open alert with the same alias: its count goes up.
      if (open?.status === "open") open.count++;
      else alerts.set(alias, { status: "open", count: 1, create: parsed.data });
      return accepted();
    }
    const close = /^\/v2\/alerts\/([^/]+)\/close$/.exec(req.path);
    if (req.method === "POST" && close) {
      if (req.query.get("identifierType") !== "alias")
        return { status: 422, body: { message: "identifierType must be alias here" } };
      const parsed = OpsgenieCloseSchema.safeParse(body ?? {});
      if (!parsed.success) return { status: 422, body: { message: problems(parsed.error).join("; ") } };
      const alert = alerts.get(decodeURIComponent(close[1] ?? ""));
      if (alert) alert.status = "closed";
      return accepted();
    }
    return { status: 404, body: { message: "Not found" } };
  });
  return Object.assign(api, { alerts });
}

// --- Microsoft Teams workflow webhook with an Adaptive Card (adaptivecards.io, learn.microsoft.com) ---

const CardElementSchema = z.looseObject({ type: z.string().min(1) });
export const TeamsMessageSchema = z.object({
  type: z.literal("message"),
  attachments: z
    .array(
      z.object({
        contentType: z.literal("application/vnd.microsoft.card.adaptive"),
        contentUrl: z.string().nullable().optional(),
        content: z.looseObject({
          type: z.literal("AdaptiveCard"),
          version: z.string().refine((v) => Number(v) >= 1.4, "must be 1.4 or later"),
          body: z.array(CardElementSchema).min(1),
          actions: z
            .array(z.looseObject({ type: z.string(), title: z.string(), url: z.url().optional() }))
            .optional(),
        }),
      }),
    )
    .min(1),
});
export type TeamsMessageIn = z.infer<typeof TeamsMessageSchema>;

export interface FakeTeams extends FakeApi {
  messages: TeamsMessageIn[];
  /** The path with its signature, as the workflow's URL has it. */
  webhookUrl: string;
}

/** A Power Automate workflow trigger: POST …/invoke?sig=… → 202; 400 for a body the flow cannot parse. */
export async function startTeamsWorkflow(sig: string): Promise<FakeTeams> {
  const messages: TeamsMessageIn[] = [];
  const api = await startFakeApi((req) => {
    if (req.query.get("sig") !== sig)
      return { status: 401, body: { error: { code: "DirectApiAuthorizationRequired" } } };
    const parsed = TeamsMessageSchema.safeParse(parseJson(req.body));
    if (!parsed.success)
      return {
        status: 400,
        body: { error: { code: "InvalidRequestContent", message: problems(parsed.error).join("; ") } },
      };
    messages.push(parsed.data);
    return { status: 202, body: "" };
  });
  return Object.assign(api, {
    messages,
    webhookUrl: `${api.url}/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=${sig}`,
  });
}

// --- Alertmanager API v2 (prometheus/alertmanager api/v2/openapi.yaml, postableAlerts) ---

const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, "must be a valid label name");
export const PostableAlertSchema = z.object({
  labels: z
    .record(labelName, z.string().min(1))
    .refine((l) => Object.keys(l).length > 0, "at least one label pair required"),
  annotations: z.record(labelName, z.string()).optional(),
  startsAt: isoTime.optional(),
  endsAt: isoTime.optional(),
  generatorURL: z.url().optional(),
});
export type PostableAlertIn = z.infer<typeof PostableAlertSchema>;

export interface FakeAlertmanager extends FakeApi {
  /** Alerts by fingerprint (their sorted label set), the latest post of each. */
  alerts: Map<string, PostableAlertIn>;
}

/** The label-set fingerprint Alertmanager merges alerts on. */
export function fingerprint(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
}

/** Alertmanager: POST /api/v2/alerts with an array of postable alerts → 200; 400 on a bad alert. */
export async function startAlertmanager(): Promise<FakeAlertmanager> {
  const alerts = new Map<string, PostableAlertIn>();
  const api = await startFakeApi((req) => {
    if (req.method !== "POST" || req.path !== "/api/v2/alerts") return { status: 404, body: "not found" };
    const parsed = z.array(PostableAlertSchema).safeParse(parseJson(req.body));
    if (!parsed.success) return { status: 400, body: problems(parsed.error).join("; ") };
    for (const a of parsed.data) {
      if (a.startsAt && a.endsAt && Date.parse(a.endsAt) < Date.parse(a.startsAt))
        return { status: 400, body: "end time must not be before start time" };
    }
    for (const a of parsed.data) alerts.set(fingerprint(a.labels), a);
    return { status: 200, body: "" };
  });
  return Object.assign(api, { alerts });
}
