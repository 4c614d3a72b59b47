/**
 * Several collectors on one database (issue 12): the Targets page says which instance follows
 * each target (`followedBy`) and lists the instances from GET /api/v1/cluster — only when there
 * is more than one.
 */
import type { ClusterInstance, ClusterView } from "@codex-fleet/protocol/api";
import { screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { NOW, snapshotMessage, TARGETS } from "./fixtures.ts";
import { deliverSnapshot, renderApp } from "./render-app.tsx";
import { type Answer, PENDING, stubFetch } from "./stub-fetch.ts";

const iso = (ms: number) => new Date(ms).toISOString();
const instance = (
  patch: Partial<ClusterInstance> & Pick<ClusterInstance, "id" | "name">,
): ClusterInstance => ({
  version: "0.4.0",
  host: "node-1",
  pid: 4242,
  startedAt: iso(NOW - 3_600_000),
  lastHeartbeat: iso(NOW - 120_000),
  live: true,
  self: false,
  targetsHeld: 0,
  alertLeader: false,
  ...patch,
});
const cluster = (instances: ClusterInstance[]): ClusterView => ({
  leaseTtlMs: 15_000,
  alertLeader: instances.find((i) => i.alertLeader)?.name ?? null,
  targets: TARGETS.length,
  unfollowed: 1,
  instances,
});
const TWO = cluster([
  instance({ id: "i-a", name: "collector-a", self: true, targetsHeld: 3, alertLeader: true }),
  instance({ id: "i-b", name: "collector-b", host: "node-2", targetsHeld: 1, version: "0.5.0" }),
]);
// alice, bob, carol on A; dave on B; erin between a holder's loss and a takeover.
const FOLLOWED = TARGETS.map((t) => ({
  ...t,
  followedBy: t.name === "dave" ? "collector-b" : t.name === "erin" ? null : "collector-a",
}));

const rest = (clusterAnswer: Answer) =>
  stubFetch({
    "GET /api/v1/targets": PENDING,
    "GET /api/v1/threads": PENDING,
    "GET /api/v1/alerts": { body: [] },
    "GET /api/v1/cluster": clusterAnswer,
  });

describe("Targets page with several collectors", () => {
  it("does show which collector follows each target, and nobody for one between holders", async () => {
    rest({ body: TWO });
    renderApp("/targets");
    deliverSnapshot(snapshotMessage({ targets: FOLLOWED }));
    expect(screen.getByRole("columnheader", { name: "Followed by" })).toBeInTheDocument();
    expect(screen.getByTestId("target-followed-by-alice")).toHaveTextContent("collector-a");
    expect(screen.getByTestId("target-followed-by-dave")).toHaveTextContent("collector-b");
    expect(screen.getByTestId("target-followed-by-erin")).toHaveTextContent("nobody right now");
    await screen.findByTestId("cluster-panel");
  });

  it("does list the instances: name, version, started, heartbeat, targets held, alert leader", async () => {
    const fetches = rest({ body: TWO });
    renderApp("/targets");
    deliverSnapshot(snapshotMessage({ targets: FOLLOWED }));
    const panel = await screen.findByTestId("cluster-panel");
    expect(within(panel).getByRole("heading", { name: "Collectors" })).toBeInTheDocument();
    expect(panel).toHaveTextContent("2 live · 5 targets · 1 not followed right now");
    const a = within(panel).getByTestId("cluster-row-collector-a");
    expect(a).toHaveTextContent("this one");
    expect(a).toHaveTextContent("0.4.0");
    expect(a).toHaveTextContent("1h ago");
    expect(a).toHaveTextContent("2m ago");
    expect(within(panel).getByTestId("cluster-held-collector-a")).toHaveTextContent("3");
    expect(within(panel).getByTestId("cluster-leader-collector-a")).toHaveTextContent("alert leader");
    const b = within(panel).getByTestId("cluster-row-collector-b");
    expect(b).toHaveTextContent("node-2 · pid 4242");
    expect(b).toHaveTextContent("0.5.0");
    expect(within(panel).getByTestId("cluster-held-collector-b")).toHaveTextContent("1");
    expect(within(panel).getByTestId("cluster-leader-collector-b").textContent).toBe("");
    expect(fetches.callsTo("/api/v1/cluster")).toHaveLength(1);
  });

  it("does mark an instance whose heartbeat expired", async () => {
    rest({
      body: cluster([
        instance({ id: "i-a", name: "collector-a", self: true, targetsHeld: 5, alertLeader: true }),
        instance({ id: "i-b", name: "collector-b", live: false, lastHeartbeat: iso(NOW - 60_000) }),
      ]),
    });
    renderApp("/targets");
    deliverSnapshot(snapshotMessage({ targets: FOLLOWED }));
    const panel = await screen.findByTestId("cluster-panel");
    expect(panel).toHaveTextContent("1 live");
    expect(within(panel).getByTestId("cluster-row-collector-b")).toHaveTextContent("heartbeat expired");
  });

  it("does show no panel for a collector alone, nor when the endpoint is missing", async () => {
    const alone = rest({
      body: cluster([instance({ id: "i-a", name: "solo", self: true, alertLeader: true })]),
    });
    const first = renderApp("/targets");
    deliverSnapshot();
    await waitFor(() => expect(alone.callsTo("/api/v1/cluster")).toHaveLength(1));
    expect(screen.queryByTestId("cluster-panel")).toBeNull();
    // The fixtures carry no followedBy (an older collector): no column either.
    expect(screen.queryByRole("columnheader", { name: "Followed by" })).toBeNull();
    first.unmount();

    const older = rest({ status: 404, body: { error: { code: "not_found", message: "no route" } } });
    renderApp("/targets");
    deliverSnapshot();
    await waitFor(() => expect(older.callsTo("/api/v1/cluster")).toHaveLength(1));
    expect(screen.queryByTestId("cluster-panel")).toBeNull();
    expect(screen.queryByRole("alert")).toBeNull();
  });
});
