import { createHmac } from "node:crypto";
import { createServer } from "node:net";
import {
  type ScriptedResponse,
  startTestReceiver,
  type TestReceiver,
} from "@codex-fleet/codex-fakes/notification-receiver";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createWebhookNotifier,
  signBody,
  verifySignature,
  type WebhookBody,
} from "../../../../src/alerts/notifiers/webhook.ts";
import { Secret } from "../../../../src/config/secret.ts";
import { T0 } from "../../../support/alert-fixtures.ts";
import { BASE_URL, groupNotification } from "../../../support/group-fixtures.ts";

const SECRET = "whsec-test-0123456789";
let receiver: TestReceiver;

beforeAll(async () => {
  receiver = await startTestReceiver();
});
afterAll(() => receiver.close());
beforeEach(() => {
  receiver.received.length = 0;
});

const notifier = (secret: string | null = SECRET, timeoutMs = 2_000) =>
  createWebhookNotifier({
    name: "hook",
    url: receiver.url,
    secret: secret === null ? null : new Secret(secret),
    timeoutMs,
    now: () => T0 + 1234,
  });

describe("webhook notifier", () => {
  it("does POST the group notification as JSON, signed with HMAC-SHA256 over the exact body", async () => {
    const result = await notifier().send(groupNotification());
    expect(result).toMatchObject({ ok: true, status: 200, error: null });
    const [req] = receiver.received;
    if (!req) throw new Error("no request");
    const body = JSON.parse(req.body) as WebhookBody;
    const expected = `sha256=${createHmac("sha256", SECRET).update(req.body).digest("hex")}`;
    expect(req.headers["x-codex-fleet-signature"]).toBe(expected);
    expect(req.headers["x-codex-fleet-timestamp"]).toBe(String(T0 + 1234));
    expect(body.sentAt).toBe(new Date(T0 + 1234).toISOString());
    expect(req.headers["x-codex-fleet-event"]).toBe("firing");
    expect(req.headers["x-codex-fleet-delivery"]).toBe("n-1");
    expect(req.headers["content-type"]).toBe("application/json");
    const { sentAt: _sentAt, ...sent } = body;
    expect(sent).toEqual(groupNotification());
    expect(body.members.map((m) => [m.change, m.alert.id, m.dashboardUrl])).toEqual([
      ["new", "al-1", `${BASE_URL}/threads/th-1`],
      ["firing", "al-2", `${BASE_URL}/threads/th-2`],
      ["resolved", "al-3", `${BASE_URL}/threads/th-3`],
    ]);
  });

  it("does send the group's status as the event header when it resolves", async () => {
    await notifier().send(groupNotification({ status: "resolved" }));
    expect(receiver.received[0]?.headers["x-codex-fleet-event"]).toBe("resolved");
  });

  it("does not sign, and sends no signature header, without a secret", async () => {
    await notifier(null).send(groupNotification());
    expect(receiver.received[0]?.headers["x-codex-fleet-signature"]).toBeUndefined();
  });

  it("does never put the secret in the body or any header but the signature", async () => {
    await notifier().send(groupNotification());
    const req = receiver.received[0];
    expect(req?.body).not.toContain(SECRET);
    expect(JSON.stringify(req?.headers)).not.toContain(SECRET);
  });

  it.each<
    [
      string,
      ScriptedResponse,
      {
        ok: boolean;
        status: number | null;
        retryable: boolean;
        retryAfterMs: number | null;
        error: string | null;
      },
    ]
  >([
    [
      "does succeed on 200",
      { status: 200 },
      { ok: true, status: 200, retryable: false, retryAfterMs: null, error: null },
    ],
    [
      "does succeed on 204",
      { status: 204 },
      { ok: true, status: 204, retryable: false, retryAfterMs: null, error: null },
    ],
    [
      "does retry on 500",
      { status: 500, body: "boom" },
      { ok: false, status: 500, retryable: true, retryAfterMs: null, error: "HTTP 500: boom" },
    ],
    [
      "does retry on 503 and read Retry-After",
      { status: 503, headers: { "retry-after": "7" } },
      { ok: false, status: 503, retryable: true, retryAfterMs: 7000, error: "HTTP 503" },
    ],
    [
      "does retry on 429",
      { status: 429 },
      { ok: false, status: 429, retryable: true, retryAfterMs: null, error: "HTTP 429" },
    ],
    [
      "does not retry on 400",
      { status: 400, body: "bad" },
      { ok: false, status: 400, retryable: false, retryAfterMs: null, error: "HTTP 400: bad" },
    ],
    [
      "does not retry on 404",
      { status: 404 },
      { ok: false, status: 404, retryable: false, retryAfterMs: null, error: "HTTP 404" },
    ],
  ])("%s", async (_name, response, want) => {
    receiver.script(response);
    expect(await notifier().send(groupNotification())).toMatchObject(want);
  });

  it("does report a timeout as retryable when the receiver never answers", async () => {
    receiver.script("hang");
    expect(await notifier(SECRET, 200).send(groupNotification())).toMatchObject({
      ok: false,
      status: null,
      error: "timeout",
      retryable: true,
    });
  });

  it("does report a refused connection by its code, without the URL", async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const url = `http://127.0.0.1:${port}/secret-path-token`;
    const result = await createWebhookNotifier({ name: "x", url, secret: null, timeoutMs: 2000 }).send(
      groupNotification(),
    );
    expect(result).toMatchObject({ ok: false, status: null, error: "ECONNREFUSED", retryable: true });
    expect(result.error).not.toContain("secret-path-token");
  });
});

describe("verifySignature", () => {
  const body = '{"a":1}';
  it.each<[string, string, string, string | undefined, boolean]>([
    ["does accept the right signature", SECRET, body, signBody(SECRET, body), true],
    ["does refuse a tampered body", SECRET, '{"a":2}', signBody(SECRET, body), false],
    ["does refuse another secret's signature", SECRET, body, signBody("other", body), false],
    ["does refuse a missing header", SECRET, body, undefined, false],
    [
      "does refuse a signature without the sha256= prefix",
      SECRET,
      body,
      signBody(SECRET, body).slice(7),
      false,
    ],
  ])("%s", (_name, secret, b, header, want) => {
    expect(verifySignature(secret, b, header)).toBe(want);
  });
});
