/**
 * The sub-agent tree a thread belongs to: its parent, the root, every thread of the tree with its
 * own total, and the tree's total ("where did the quota go"). Hidden for a thread on its own.
 */
import type { ThreadDetail, TreeNodeView } from "@codex-fleet/protocol/api";
import { CostCell } from "../../components/CostCell.tsx";
import { formatInteger, formatTokens } from "../../lib/format.ts";
import { Link } from "../../lib/router.tsx";

const kindLabel = (kind: string | null, depth = 1) =>
  kind === null ? (depth === 0 ? "root" : "—") : kind.replaceAll("_", " ");
const shortId = (id: string) => `…${id.slice(-8)}`;
const nodeLabel = (n: Pick<TreeNodeView, "id" | "name">) => n.name?.trim() || shortId(n.id);

export function SubAgentTree({ thread }: { thread: ThreadDetail }) {
  const tree = thread.tree;
  if (!tree || (tree.nodes.length <= 1 && !thread.parentThreadId)) return null;
  const link = (id: string, label: string) =>
    id === thread.id ? (
      <strong>{label}</strong>
    ) : (
      <Link href={`/threads/${encodeURIComponent(id)}`}>{label}</Link>
    );
  return (
    <div className="card" data-testid="subagent-tree">
      <div className="card-head">
        <h2>Sub-agent tree</h2>
        <span className="faint">
          {formatInteger(tree.totals.threads)} threads · {formatTokens(tree.totals.totalTokens)} tokens ·{" "}
          <CostCell
            costUsd={tree.totals.costUsd}
            unpricedTokens={tree.totals.unpricedTokens}
            totalTokens={tree.totals.totalTokens}
            testId="subagent-tree-cost"
          />
        </span>
      </div>
      <div className="card-body">
        <p data-testid="subagent-tree-path">
          {thread.parentThreadId ? (
            <>
              Spawned by {link(thread.parentThreadId, shortId(thread.parentThreadId))}
              {tree.rootThreadId !== thread.parentThreadId && (
                <> · root {link(tree.rootThreadId, shortId(tree.rootThreadId))}</>
              )}
            </>
          ) : (
            "Root of the tree"
          )}
          {thread.subAgent && (
            <span className="faint">
              {" "}
              · {kindLabel(thread.subAgent.kind)}
              {thread.subAgent.depth !== null && ` (depth ${thread.subAgent.depth})`}
            </span>
          )}
        </p>
        <table className="table" data-testid="subagent-tree-nodes">
          <thead>
            <tr>
              <th>Thread</th>
              <th>Kind</th>
              <th className="num">Tokens</th>
              <th className="num">Cost</th>
            </tr>
          </thead>
          <tbody>
            {tree.nodes.map((n) => (
              <tr key={n.id} data-testid={`subagent-node-${n.id}`}>
                <td style={{ paddingLeft: `${0.5 + Math.min(n.depth, 8) * 1.25}rem` }}>
                  {n.known ? (
                    link(n.id, nodeLabel(n))
                  ) : (
                    <span className="faint" title="never seen by the collector">
                      {shortId(n.id)}
                    </span>
                  )}
                </td>
                <td className="muted">{kindLabel(n.subAgentKind, n.depth)}</td>
                <td className="num" data-value={n.totalTokens}>
                  {formatTokens(n.totalTokens)}
                </td>
                <td className="num">
                  <CostCell
                    costUsd={n.costUsd}
                    unpricedTokens={n.unpricedTokens}
                    totalTokens={n.totalTokens}
                  />
                </td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <td colSpan={2}>
                Tree total{tree.truncated && <span className="faint"> (more threads than listed)</span>}
              </td>
              <td className="num" data-testid="subagent-tree-total" data-value={tree.totals.totalTokens}>
                {formatTokens(tree.totals.totalTokens)}
              </td>
              <td className="num">
                <CostCell
                  costUsd={tree.totals.costUsd}
                  unpricedTokens={tree.totals.unpricedTokens}
                  totalTokens={tree.totals.totalTokens}
                />
              </td>
            </tr>
          </tfoot>
        </table>
      </div>
    </div>
  );
}
