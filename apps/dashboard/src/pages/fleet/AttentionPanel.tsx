/** "Needs you": threads waiting on a person or in error, the longest wait first. */
import type { ThreadView } from "@codex-fleet/protocol/api";
import { Elapsed } from "../../components/Ago.tsx";
import { CodexErrorChip } from "../../components/CodexErrorChip.tsx";
import { ThreadStatusPill } from "../../components/StatusPill.tsx";
import { Link } from "../../lib/router.tsx";
import { requestKindLabel, threadDisplayStatus } from "../../lib/status.ts";
import { waitStart } from "./fleet-model.ts";
import { threadLabel } from "./ThreadRow.tsx";

const MAX_ROWS = 8;

/** Renders nothing when no thread needs attention. */
export function AttentionPanel({ threads }: { threads: ThreadView[] }) {
  if (threads.length === 0) return null;
  return (
    <div className="card attention" data-testid="fleet-attention">
      <div className="card-head">
        <h2>Needs attention</h2>
        <span className="badge warn">{threads.length}</span>
        <span className="spacer" />
        <span className="faint">longest wait first</span>
      </div>
      <ul className="attention-list">
        {threads.slice(0, MAX_ROWS).map((thread) => {
          const status = threadDisplayStatus(thread);
          const request = thread.pendingRequests[0];
          return (
            <li key={thread.id}>
              <ThreadStatusPill status={status} />
              <span className="attention-who">
                <span className="faint">{thread.target} / </span>
                <Link href={`/threads/${encodeURIComponent(thread.id)}`}>{threadLabel(thread)}</Link>
              </span>
              <span className="attention-what truncate">
                {status === "systemError" ? (
                  <CodexErrorChip info={thread.lastCodexErrorInfo} message={thread.lastErrorMessage} />
                ) : request ? (
                  <span
                    title={request.preview ?? undefined}
                    data-testid="attention-request-kind"
                    data-kind={request.requestKind}
                  >
                    <span className="faint">{requestKindLabel(request.requestKind)}: </span>
                    <span className="mono">{request.preview ?? request.method}</span>
                  </span>
                ) : (
                  <span className="faint">{thread.repo ?? thread.cwd ?? ""}</span>
                )}
              </span>
              <span className="attention-since">
                <Elapsed since={status === "systemError" ? thread.statusSince : waitStart(thread)} />
              </span>
            </li>
          );
        })}
      </ul>
      {threads.length > MAX_ROWS && (
        <div className="card-body faint" style={{ paddingTop: 0 }}>
          …and {threads.length - MAX_ROWS} more in the table below.
        </div>
      )}
    </div>
  );
}
