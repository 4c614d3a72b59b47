/** postJson and the destination policy (SSRF, issue "Hostile input, round two", finding 4). */
import { startTestReceiver, type TestReceiver } from "@codex-fleet/codex-fakes/notification-receiver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson } from "../../../../src/alerts/notifiers/http.ts";

let receiver: TestReceiver;
beforeAll(async () => {
  receiver = await startTestReceiver();
});
afterAll(() => receiver.close());

const post = (url: string, over: Partial<Parameters<typeof postJson>[0]> = {}) =>
  postJson({ url, body: "{}", headers: {}, timeoutMs: 2000, ...over });

describe("postJson destinations", () => {
  it.each([
    "http://169.254.169.254/",
    "http://2852039166/",
    "http://[::ffff:169.254.169.254]/",
    "http://metadata.google.internal/",
  ])("does refuse %s without sending, and does not retry it", async (url) => {
    expect(await post(url)).toMatchObject({
      ok: false,
      status: null,
      retryable: false,
      error: expect.stringMatching(/^refusing to connect to /),
    });
  });

  it("does refuse a receiver name that resolves to a link-local address at send time", async () => {
    const port = new URL(receiver.url).port;
    const before = receiver.received.length;
    const result = await post(`http://hooks.test:${port}/`, {
      resolver: async () => [{ address: "169.254.169.254", family: 4 }],
    });
    expect(result).toMatchObject({
      ok: false,
      retryable: false,
      error: expect.stringMatching(/hooks\.test: it resolves to a link-local address/),
    });
    expect(receiver.received.length).toBe(before);
  });

  it("does send to the address the name resolved to when it is allowed", async () => {
    const port = new URL(receiver.url).port;
    const result = await post(`http://hooks.test:${port}/`, {
      resolver: async () => [{ address: "127.0.0.1", family: 4 }],
    });
    expect(result).toMatchObject({ ok: true, status: 200 });
  });
});
