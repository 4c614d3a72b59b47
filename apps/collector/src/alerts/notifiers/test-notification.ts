/** The message "Test receiver" sends: a GroupNotification marked `test` with one synthetic member. */
import type { AlertView } from "@codex-fleet/protocol/api";
import { groupTitle } from "./format.ts";
import type { GroupNotification } from "./group-payload.ts";

/** A test notification for `receiver` at `nowMs`; links point at the dashboard under `baseUrl`. */
export function createTestNotification(receiver: string, nowMs: number, baseUrl: string): GroupNotification {
  const base = baseUrl.replace(/\/+$/, "");
  const at = new Date(nowMs).toISOString();
  const groupLabels = { ruleId: "codex-fleet-test", receiver };
  const alert: AlertView = {
    id: `test-${nowMs}`,
    ruleId: "codex-fleet-test",
    kind: "test",
    subjectType: "fleet",
    subjectId: "fleet",
    group: null,
    target: null,
    threadId: null,
    team: null,
    value: null,
    severity: "info",
    state: "firing",
    summary: `Test notification from codex-fleet to receiver ${receiver}`,
    pendingSince: at,
    firingSince: at,
    resolvedAt: null,
    ackBy: null,
    ackAt: null,
    silenced: false,
  };
  const dashboardUrl = `${base}/alerts`;
  return {
    version: 2,
    id: `test:${receiver}:${nowMs}`,
    receiver,
    // Unique per test: a test must never merge with (or resolve) a real group's incident.
    groupKey: `test:${receiver}:${nowMs}`,
    groupLabels,
    status: "firing",
    severity: "info",
    counts: { firing: 1, new: 1, resolved: 0 },
    members: [{ change: "new", alert, dashboardUrl }],
    truncated: 0,
    title: `[TEST] ${groupTitle("firing", 1, groupLabels)}`,
    dashboardUrl,
    createdAt: at,
    test: true,
  };
}
