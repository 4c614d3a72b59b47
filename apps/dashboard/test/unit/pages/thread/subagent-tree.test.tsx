/** The thread page's sub-agent tree: parent link, children with their totals, the tree's total. */
import type { ThreadDetail, TreeNodeView } from "@codex-fleet/protocol/api";
import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { SubAgentTree } from "../../../../src/pages/thread/SubAgentTree.tsx";
import { APPROVAL_DETAIL } from "../../../fixtures.ts";

const node = (
  id: string,
  depth: number,
  totalTokens: number,
  over: Partial<TreeNodeView> = {},
): TreeNodeView => ({
  id,
  parentThreadId: depth === 0 ? null : "root-thread-0001",
  depth,
  known: true,
  name: null,
  status: "idle",
  subAgentKind: depth === 0 ? null : "thread_spawn",
  totalTokens,
  costUsd: totalTokens / 1000,
  unpricedTokens: 0,
  ...over,
});

function detail(over: Partial<ThreadDetail>): ThreadDetail {
  return { ...APPROVAL_DETAIL, ...over };
}

const totals = {
  threads: 3,
  inputTokens: 3000,
  cachedInputTokens: 0,
  outputTokens: 600,
  reasoningOutputTokens: 0,
  totalTokens: 3600,
  costUsd: 3.6,
  unpricedTokens: 0,
};

describe("SubAgentTree", () => {
  it("does show the parent link, every thread of the tree with its total, and the tree total", () => {
    const me = "child-thread-0002";
    render(
      <SubAgentTree
        thread={detail({
          id: me,
          parentThreadId: "root-thread-0001",
          rootThreadId: "root-thread-0001",
          subAgent: { kind: "thread_spawn", depth: 1 },
          tree: {
            rootThreadId: "root-thread-0001",
            ancestors: ["root-thread-0001"],
            nodes: [
              node("root-thread-0001", 0, 2000, { name: "Plan the refactor" }),
              node(me, 1, 1000),
              node("review-thread-003", 1, 600, { subAgentKind: "review" }),
            ],
            totals,
            truncated: false,
          },
        })}
      />,
    );
    const path = screen.getByTestId("subagent-tree-path");
    expect(path).toHaveTextContent("Spawned by …ead-0001");
    expect(within(path).getByRole("link")).toHaveAttribute("href", "/threads/root-thread-0001");
    expect(path).toHaveTextContent("thread spawn (depth 1)");
    expect(screen.getByTestId("subagent-node-root-thread-0001")).toHaveTextContent("Plan the refactor");
    expect(screen.getByTestId("subagent-node-review-thread-003")).toHaveTextContent("review");
    expect(within(screen.getByTestId(`subagent-node-${me}`)).queryByRole("link")).toBeNull();
    expect(screen.getByTestId("subagent-tree-total")).toHaveAttribute("data-value", "3600");
    expect(screen.getByTestId("subagent-tree-cost")).toHaveTextContent("$3.60");
  });

  it("does show a parent never seen as plain text, not a link", () => {
    render(
      <SubAgentTree
        thread={detail({
          id: "orphan-000000001",
          parentThreadId: "gone-parent-0009",
          rootThreadId: "gone-parent-0009",
          subAgent: { kind: "unknown:brand_new", depth: null },
          tree: {
            rootThreadId: "gone-parent-0009",
            ancestors: ["gone-parent-0009"],
            nodes: [
              node("gone-parent-0009", 0, 0, { known: false, status: null }),
              node("orphan-000000001", 1, 50),
            ],
            totals: { ...totals, threads: 2, totalTokens: 50 },
            truncated: false,
          },
        })}
      />,
    );
    expect(within(screen.getByTestId("subagent-node-gone-parent-0009")).queryByRole("link")).toBeNull();
    expect(screen.getByTestId("subagent-tree-path")).toHaveTextContent("unknown:brand new");
  });

  it("does not render for a thread on its own", () => {
    const { container } = render(
      <SubAgentTree
        thread={detail({
          parentThreadId: null,
          tree: {
            rootThreadId: APPROVAL_DETAIL.id,
            ancestors: [],
            nodes: [node(APPROVAL_DETAIL.id, 0, 10)],
            totals,
            truncated: false,
          },
        })}
      />,
    );
    expect(container.innerHTML).toBe("");
  });
});
