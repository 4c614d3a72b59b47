/** The counts on top of the Fleet page; each tile filters the table below to its status. */
import type { KnownThreadDisplayStatus } from "../../lib/status.ts";
import type { FleetCounts, FleetFilter } from "./fleet-model.ts";

type Tile = {
  key: KnownThreadDisplayStatus | "down";
  label: string;
  testId: string;
  tone: string;
  sub: string;
};

const TILES: Tile[] = [
  { key: "active", label: "Active", testId: "fleet-count-active", tone: "tone-ok", sub: "working now" },
  {
    key: "waitingOnApproval",
    label: "Waiting on approval",
    testId: "fleet-count-waiting-approval",
    tone: "tone-warn",
    sub: "need a decision",
  },
  {
    key: "waitingOnUserInput",
    label: "Waiting on input",
    testId: "fleet-count-waiting-input",
    tone: "tone-input",
    sub: "need an answer",
  },
  {
    key: "systemError",
    label: "System error",
    testId: "fleet-count-system-error",
    tone: "tone-err",
    sub: "last turn failed",
  },
  { key: "idle", label: "Idle", testId: "fleet-count-idle", tone: "", sub: "loaded, no turn" },
  { key: "down", label: "Targets down", testId: "fleet-count-targets-down", tone: "tone-err", sub: "" },
];

/** Six clickable count tiles; the active filter is pressed. */
export function StatusTiles({
  counts,
  selected,
  onSelect,
}: {
  counts: FleetCounts;
  selected: FleetFilter["status"];
  onSelect: (status: FleetFilter["status"]) => void;
}) {
  return (
    <fieldset className="kpis" aria-label="Fleet status counts">
      {TILES.map((tile) => {
        const value = tile.key === "down" ? counts.targetsDown : counts[tile.key];
        const sub =
          tile.key === "down" ? `of ${counts.targets} target${counts.targets === 1 ? "" : "s"}` : tile.sub;
        return (
          <button
            key={tile.key}
            type="button"
            className={`kpi ${value === 0 ? "is-zero" : tile.tone}`}
            aria-pressed={selected === tile.key}
            onClick={() => onSelect(selected === tile.key ? null : tile.key)}
          >
            <div className="kpi-label">{tile.label}</div>
            <div className="kpi-value" data-testid={tile.testId}>
              {value}
            </div>
            <div className="kpi-sub">{sub}</div>
          </button>
        );
      })}
    </fieldset>
  );
}
