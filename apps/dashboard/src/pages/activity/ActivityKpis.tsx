/** Headline figures of the Activity page; exact values in `data-value` (ms, counts) for reports. */

import type { ActivityCounters } from "@codex-fleet/protocol/activity";
import { Kpi } from "../../components/Kpi.tsx";
import { formatInteger } from "../../lib/format.ts";
import type { Range } from "../usage/usage-params.ts";
import { waitingMs } from "./activity-params.ts";
import { humanDuration, waitingSentence } from "./activity-text.ts";

/** Turns, waiting on people (with the sentence), active threads, turn duration. */
export function ActivityKpis({ totals, range }: { totals: ActivityCounters; range: Range }) {
  const waited = waitingMs(totals);
  const sentence = waitingSentence(totals, range);
  const ended = totals.turnsCompleted + totals.turnsFailed + totals.turnsInterrupted;
  return (
    <>
      <div className="kpis">
        <Kpi
          label="Turns"
          value={formatInteger(ended)}
          exact={ended}
          sub={`${formatInteger(totals.turnsCompleted)} completed · ${formatInteger(totals.turnsFailed)} failed · ${formatInteger(totals.turnsInterrupted)} interrupted`}
          testId="activity-turns"
        />
        <Kpi
          label="Waiting on people"
          value={humanDuration(waited)}
          exact={waited}
          sub={`${humanDuration(totals.waitingOnApprovalMs)} approvals · ${humanDuration(totals.waitingOnInputMs)} questions`}
          testId="activity-waiting"
          tone={waited > 0 ? "tone-warn" : "is-zero"}
        />
        <Kpi
          label="Time to answer"
          value={humanDuration(totals.timeToAnswerP50Ms)}
          exact={totals.timeToAnswerP50Ms}
          sub={`p50 · p90 ${humanDuration(totals.timeToAnswerP90Ms)} · ${formatInteger(totals.answeredWaits)} of ${formatInteger(totals.approvalWaits + totals.inputWaits)} answered`}
          testId="activity-answer-p50"
        />
        <Kpi
          label="Active threads"
          value={totals.activeThreadsAvg.toFixed(1)}
          exact={totals.activeThreadsAvg}
          sub={
            totals.activeThreadsPeak === null
              ? "average (peak not kept for this filter)"
              : `average · peak ${formatInteger(totals.activeThreadsPeak)}`
          }
          testId="activity-active-avg"
        />
        <Kpi
          label="Turn duration"
          value={humanDuration(totals.turnDurationP50Ms)}
          exact={totals.turnDurationP50Ms}
          sub={`p50 · p90 ${humanDuration(totals.turnDurationP90Ms)}`}
          testId="activity-duration-p50"
        />
      </div>
      <div className="activity-sentence" data-testid="activity-sentence">
        {sentence ?? "No agent waited on a person in this window."}
        <div className="faint" data-testid="activity-note">
          Observed time only (not while the collector was disconnected); percentiles are estimated from
          histogram buckets.
        </div>
      </div>
    </>
  );
}
