/** Statuses and request kinds a newer app-server sends that this version does not know are shown readably. */
import type { ThreadView } from "@codex-fleet/protocol/api";
import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ThreadStatusPill, TurnStatusPill } from "../../../src/components/StatusPill.tsx";
import {
  requestKindLabel,
  threadDisplayStatus,
  threadStatusLabel,
  turnStatusLabel,
} from "../../../src/lib/status.ts";
import { AttentionPanel } from "../../../src/pages/fleet/AttentionPanel.tsx";
import { attentionList, countFleet } from "../../../src/pages/fleet/fleet-model.ts";
import { NOW, thread } from "../../fixtures.ts";

const request = (requestKind: string, method: string) => ({
  requestId: 1,
  method,
  requestKind,
  turnId: "tu-1",
  itemId: null,
  preview: null,
  sinceMs: NOW - 60_000,
});

describe("status pills", () => {
  it("does show an unknown thread status as 'unknown: <name>' in a plain pill", () => {
    render(<ThreadStatusPill status="unknown:paused" testId="pill" />);
    const pill = screen.getByTestId("pill");
    expect(pill).toHaveTextContent("unknown: paused");
    expect(pill).toHaveAttribute("data-status", "unknown:paused");
    expect(pill.className).toContain("plain");
  });

  it("does show known statuses with their labels", () => {
    render(<ThreadStatusPill status="waitingOnApproval" testId="pill" />);
    expect(screen.getByTestId("pill")).toHaveTextContent("Waiting on approval");
  });

  it("does show an unknown turn status as 'unknown: <name>'", () => {
    render(<TurnStatusPill status="unknown:cancelled" />);
    expect(screen.getByText("unknown: cancelled")).toHaveAttribute("data-status", "unknown:cancelled");
  });

  it("does label statuses and request kinds, known and unknown", () => {
    expect(threadStatusLabel("idle")).toBe("Idle");
    expect(turnStatusLabel("failed")).toBe("Failed");
    expect(requestKindLabel("elicitation")).toBe("MCP elicitation");
    expect(requestKindLabel("toolCall")).toBe("Tool call");
    expect(requestKindLabel("unknown:brand/new")).toBe("unknown: brand/new");
    expect(requestKindLabel("toString")).toBe("toString");
  });
});

describe("request kinds on the Fleet page", () => {
  it("does treat a pending approval or requestUserInput as the wait even before the flag is set", () => {
    const base = { status: "active" as const, activeFlags: [] };
    const approval = request("permissionsApproval", "item/permissions/requestApproval");
    const input = request("userInput", "item/tool/requestUserInput");
    expect(threadDisplayStatus({ ...base, pendingRequests: [approval] })).toBe("waitingOnApproval");
    expect(threadDisplayStatus({ ...base, pendingRequests: [input] })).toBe("waitingOnUserInput");
    expect(
      threadDisplayStatus({
        ...base,
        pendingRequests: [request("elicitation", "mcpServer/elicitation/request")],
      }),
    ).toBe("waitingOnUserInput");
    expect(threadDisplayStatus({ ...base, pendingRequests: [request("toolCall", "item/tool/call")] })).toBe(
      "active",
    );
  });

  it("does list elicitations and tool calls under their own kind in 'Needs attention'", () => {
    const threads: ThreadView[] = [
      thread({
        id: "th-elicit",
        status: "active",
        pendingRequests: [request("elicitation", "mcpServer/elicitation/request")],
      }),
      thread({ id: "th-tool", status: "active", pendingRequests: [request("toolCall", "item/tool/call")] }),
      thread({ id: "th-calm", status: "active" }),
    ];
    const list = attentionList(threads);
    expect(list.map((t) => t.id).sort()).toEqual(["th-elicit", "th-tool"]);
    render(<AttentionPanel threads={list} />);
    const kinds = screen.getAllByTestId("attention-request-kind");
    expect(kinds.map((k) => k.getAttribute("data-kind")).sort()).toEqual(["elicitation", "toolCall"]);
    expect(screen.getByText(/MCP elicitation/)).toBeInTheDocument();
    expect(screen.getByText(/Tool call/)).toBeInTheDocument();
  });

  it("does count a thread in an unknown status apart from the known tiles", () => {
    const counts = countFleet([thread({ id: "th-x", status: "unknown:paused" })], []);
    expect(counts).toMatchObject({ unknown: 1, idle: 0, active: 0 });
  });
});
