/**
 * Plan limits of one target in memory (issue 14): the merged state per limit id
 * (`mergePlanLimit`, collector receive time), the last hour of samples per window for the
 * forecast, and the decision of what to store. Pure: no I/O, the time comes with each call.
 */
import type { PlanSampleRow, PlanWindowName } from "@codex-fleet/db/repositories/plan-limits-repository";
import {
  FORECAST_LOOKBACK_MS,
  type LimitRow,
  limitRowView,
  mergePlanLimit,
  type PlanLimitReport,
  type PlanLimitState,
  type PlanSample,
} from "@codex-fleet/protocol/limits";
import { sameValue } from "../lib/same-value.ts";

/** Limit ids kept per target: a hostile server could invent endless ones. More are dropped. */
export const MAX_LIMITS_PER_TARGET = 16;
/**
 * A window unchanged since its last sample gets a new one after this long. Why: a report comes
 * with every model response (many a minute while a developer works), and storing each would
 * fill the table with copies; storing only changes would leave a flat stretch without points, and
 * the forecast's recent slope would read an hour-old rise as current. One point a minute while
 * reports flow keeps both right at ≤ 1 row/min/window.
 */
export const SAMPLE_EVERY_MS = 60_000;
/** Samples kept in memory per window (the forecast reads the last hour: ~60 at one a minute). */
export const MAX_SAMPLES_IN_MEMORY = 600;
/** An unchanged state is stored again after this long, so that `observedAt` stays current. */
export const RESAVE_UNCHANGED_MS = 60_000;

const WINDOWS: readonly PlanWindowName[] = ["primary", "secondary"];

/**
 * A plan limit that changed: its key now, its row (with forecast) when a reader asks — built once,
 * from the newest state then. Reports come with every model response; the live feed and the other
 * instances send a limit's newest row once per tick, so rows no one reads are never built.
 */
export interface LimitChange {
  readonly target: string;
  readonly limitId: string;
  /** Target and limit id: the readers keep the newest change per key. */
  readonly key: string;
  row(): LimitRow;
}

/** A change whose row `build` makes on first read. */
export function limitChange(target: string, limitId: string, build: () => LimitRow): LimitChange {
  let row: LimitRow | null = null;
  return {
    target,
    limitId,
    key: `${target}\u0000${limitId}`,
    row: () => {
      row ??= build();
      return row;
    },
  };
}

/** What applying one report did. */
export type Applied =
  | { kind: "dropped" }
  | { kind: "applied"; state: PlanLimitState; samples: PlanSampleRow[]; save: boolean };

/** Equal but for their times (`observedAtMs`, at any depth): nothing worth telling anyone changed. */
export const sameContent = (a: PlanLimitState, b: PlanLimitState): boolean => sameValue(a, b, "observedAtMs");

/** Drop the samples before `fromMs` (the list is in time order), in place. */
function dropBefore(list: PlanSample[], fromMs: number): void {
  let n = 0;
  while (n < list.length && (list[n] as PlanSample).atMs < fromMs) n++;
  if (n > 0) list.splice(0, n);
}

/** Plan limits of one target. */
export class TargetPlanLimits {
  readonly states = new Map<string, PlanLimitState>();
  private samples = new Map<string, PlanSample[]>();
  private savedAtMs = new Map<string, number>();

  /**
   * Take what the database holds (at connect: a restart keeps merging into what was known). A
   * state newer in memory (this process kept following) wins; samples are added once each.
   */
  seed(
    states: readonly PlanLimitState[],
    samples: readonly { limitId: string; window: PlanWindowName; sample: PlanSample }[],
  ): void {
    for (const s of states) {
      const mine = this.states.get(s.limitId);
      if (mine && mine.observedAtMs >= s.observedAtMs) continue;
      if (!mine && this.states.size >= MAX_LIMITS_PER_TARGET) continue;
      this.states.set(s.limitId, s);
      this.savedAtMs.set(s.limitId, s.observedAtMs);
    }
    for (const { limitId, window, sample } of samples) {
      if (!this.states.has(limitId)) continue;
      const list = this.samples.get(key(limitId, window)) ?? [];
      if (list.some((x) => x.atMs === sample.atMs)) continue;
      list.push(sample);
      list.sort((a, b) => a.atMs - b.atMs);
      this.samples.set(key(limitId, window), list.slice(-MAX_SAMPLES_IN_MEMORY));
    }
  }

  /** Merge one report at `atMs` (the collector's receive time). */
  apply(report: PlanLimitReport, atMs: number): Applied {
    const prev = this.states.get(report.limitId);
    if (!prev && this.states.size >= MAX_LIMITS_PER_TARGET) return { kind: "dropped" };
    const state = mergePlanLimit(prev, report, atMs);
    this.states.set(report.limitId, state);
    const samples: PlanSampleRow[] = [];
    for (const window of WINDOWS) {
      const w = report[window];
      if (w === null) continue; // no information about this window in this report
      const k = key(report.limitId, window);
      let list = this.samples.get(k);
      if (list === undefined) {
        list = [];
        this.samples.set(k, list);
      }
      dropBefore(list, atMs - FORECAST_LOOKBACK_MS);
      const last = list.at(-1);
      const due =
        last === undefined ||
        last.usedPercent !== w.usedPercent ||
        last.resetsAtMs !== w.resetsAtMs ||
        atMs - last.atMs >= SAMPLE_EVERY_MS;
      if (due && (last === undefined || atMs > last.atMs)) {
        const sample = { atMs, usedPercent: w.usedPercent, resetsAtMs: w.resetsAtMs };
        list.push(sample);
        samples.push({ limitId: report.limitId, window, ...sample });
        if (list.length > MAX_SAMPLES_IN_MEMORY) list.splice(0, list.length - MAX_SAMPLES_IN_MEMORY);
      }
    }
    const saved = this.savedAtMs.get(report.limitId);
    const save =
      prev === undefined ||
      samples.length > 0 ||
      saved === undefined ||
      atMs - saved >= RESAVE_UNCHANGED_MS ||
      !sameContent(prev, state);
    if (save) this.savedAtMs.set(report.limitId, atMs);
    return { kind: "applied", state, samples, save };
  }

  /**
   * The live row of a limit's newest state, with its forecast from the samples in memory, as of
   * that state's last report.
   */
  latestRow(state: PlanLimitState, target: string, team: string): LimitRow {
    const latest = this.states.get(state.limitId) ?? state;
    const { limitId } = latest;
    return limitRowView({
      target,
      team,
      state: latest,
      samples: {
        primary: this.samples.get(key(limitId, "primary")) ?? [],
        secondary: this.samples.get(key(limitId, "secondary")) ?? [],
      },
      nowMs: latest.observedAtMs,
    });
  }

  /** Samples in memory of one window (tests). */
  samplesOf(limitId: string, window: PlanWindowName): readonly PlanSample[] {
    return this.samples.get(key(limitId, window)) ?? [];
  }
}

const key = (limitId: string, window: PlanWindowName) => `${window}\u0000${limitId}`;
