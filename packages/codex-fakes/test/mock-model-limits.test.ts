/**
 * The model stand-in's plan-limit routes (issue 14) over real HTTP: per-step response headers,
 * the 429 usage-limit step, and the ChatGPT usage read `/backend-api/wham/usage`.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type MockModel, rateLimitHeaders, startMockModel } from "../src/mock-model.ts";

let mock: MockModel | null = null;
afterEach(async () => {
  await mock?.close();
  mock = null;
});

const post = (m: MockModel) =>
  fetch(`${m.baseUrl}/responses`, { method: "POST", body: JSON.stringify({ input: [] }) });

describe("mock model plan-limit routes", () => {
  it("does send a step's extra headers with its stream, and none with the next", async () => {
    mock = await startMockModel();
    const headers = rateLimitHeaders({
      primary: { usedPercent: 42.5, windowMinutes: 300, resetAtSeconds: 1796531062 },
      credits: { hasCredits: true, unlimited: false, balance: "12.5" },
      limitName: "codex",
    });
    expect(headers).toEqual({
      "x-codex-primary-used-percent": "42.5",
      "x-codex-primary-window-minutes": "300",
      "x-codex-primary-reset-at": "1796531062",
      "x-codex-credits-has-credits": "true",
      "x-codex-credits-unlimited": "false",
      "x-codex-credits-balance": "12.5",
      "x-codex-limit-name": "codex",
    });
    mock.push({ kind: "reply", headers }, { kind: "reply" });
    const first = await post(mock);
    expect(first.headers.get("content-type")).toBe("text/event-stream");
    expect(first.headers.get("x-codex-primary-used-percent")).toBe("42.5");
    expect(await first.text()).toContain("response.completed");
    const second = await post(mock);
    expect(second.headers.get("x-codex-primary-used-percent")).toBeNull();
    await second.text();
  });

  it("does answer a 429 usage limit with its headers and serve no usage", async () => {
    mock = await startMockModel();
    mock.push({
      kind: "http429",
      headers: { "x-codex-rate-limit-reached-type": "workspace_member_credits_depleted" },
    });
    const res = await post(mock);
    expect(res.status).toBe(429);
    expect(res.headers.get("x-codex-rate-limit-reached-type")).toBe("workspace_member_credits_depleted");
    await res.text();
    expect(mock.served.totalTokens).toBe(0);
  });

  it("does serve the configured usage read, 404 until set, and 404 for settings", async () => {
    mock = await startMockModel();
    const base = `http://127.0.0.1:${mock.port}/backend-api/wham`;
    expect((await fetch(`${base}/usage`)).status).toBe(404);
    const body = { plan_type: "plus", rate_limit: null, credits: null };
    mock.setWhamUsage(body);
    const res = await fetch(`${base}/usage`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(body);
    expect((await fetch(`${base}/settings/user`)).status).toBe(404);
    expect(mock.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "GET /backend-api/wham/usage",
      "GET /backend-api/wham/usage",
      "GET /backend-api/wham/settings/user",
    ]);
  });
});
