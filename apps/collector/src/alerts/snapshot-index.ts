/**
 * What several rules of one evaluation derive from the same snapshot, derived once and shared by
 * all of them: the teams of the targets, the threads by id, and the split of the threads into
 * those the thread rules see (a connected, settled target's) and the held rest with their subject
 * keys. Each part is built on first use, so a rule set that needs none of it pays nothing.
 *
 * Built per rule, this was the live snapshot's main cost at 5,000 targets / 50,000 threads: every
 * thread rule built the target map and, with the targets down, 50,000 held keys
 * (BENCHMARKS "Live snapshot at 5,000 targets, session 11").
 *
 * An index answers for one (snapshot, now): the rules read it, nobody changes it; build a new one
 * for another snapshot or time (the engine does, per evaluation).
 */
import type { FleetSnapshot, TargetSnapshot, ThreadSnapshot } from "./types.ts";
import { subjectKey } from "./types.ts";

/** The threads the thread rules see, with their target's team, and the held rest. */
export interface ThreadPartition {
  readonly known: readonly ThreadSnapshot[];
  /** `teams[i]` is the team of `known[i]`'s target. */
  readonly teams: readonly string[];
  readonly held: readonly ThreadSnapshot[];
}

/** What the rules look up by id. */
export interface Lookup<T> {
  get(id: string): T | undefined;
}

export class SnapshotIndex {
  private byId: ReadonlyMap<string, TargetSnapshot> | null = null;
  private teamLookup: Lookup<string> | null = null;
  private settledLookup: Lookup<string | null> | null = null;
  private threadMap: Map<string, ThreadSnapshot> | null = null;
  private split: ThreadPartition | null = null;
  private heldKeys: ReadonlySet<string> | null = null;

  constructor(
    readonly snap: FleetSnapshot,
    readonly nowMs: number,
  ) {}

  /** The snapshot's targets by id: its own map when it has one (no map per evaluation). */
  private get targets(): ReadonlyMap<string, TargetSnapshot> {
    this.byId ??= this.snap.targetById ?? new Map(this.snap.targets.map((t) => [t.id, t]));
    return this.byId;
  }

  /** Target id → its team, for every configured target. */
  get teams(): Lookup<string> {
    this.teamLookup ??= { get: (id) => this.targets.get(id)?.team };
    return this.teamLookup;
  }

  /**
   * Target id → its team when the target is connected and settled (its threads' state is current),
   * null when it is down or reconnected less than `settleMs` ago; configured targets only.
   */
  get settledTeams(): Lookup<string | null> {
    if (this.settledLookup !== null) return this.settledLookup;
    const { snap, nowMs } = this;
    this.settledLookup = {
      get: (id) => {
        const t = this.targets.get(id);
        if (t === undefined) return undefined;
        const settled =
          t.state === "open" && t.connectedSinceMs !== null && nowMs - t.connectedSinceMs >= snap.settleMs;
        return settled ? t.team : null;
      },
    };
    return this.settledLookup;
  }

  /** Thread id → thread. */
  get threads(): ReadonlyMap<string, ThreadSnapshot> {
    this.threadMap ??= new Map(this.snap.threads.map((t) => [t.id, t]));
    return this.threadMap;
  }

  /**
   * Thread rules see threads of connected, settled targets only. A thread of a target that is down
   * or reconnected less than `settleMs` ago is held: its stored state may be stale (the developer
   * may have answered the approval meanwhile), and the target rules cover the outage. A thread of
   * a target no longer configured is neither: its alerts resolve.
   */
  get partition(): ThreadPartition {
    if (this.split !== null) return this.split;
    const { snap } = this;
    const settledTeam = this.settledTeams;
    const known: ThreadSnapshot[] = [];
    const teams: string[] = [];
    const held: ThreadSnapshot[] = [];
    for (const thread of snap.threads) {
      const team = settledTeam.get(thread.targetId);
      if (team === undefined) continue;
      if (team === null) held.push(thread);
      else {
        known.push(thread);
        teams.push(team);
      }
    }
    this.split = { known, teams, held };
    return this.split;
  }

  /**
   * The subject keys of the held threads. Built on first read: the engine reads a rule's `held`
   * only for an open alert whose condition is gone, and with every target down (a network outage)
   * this is a key per thread of the fleet.
   */
  get heldThreadKeys(): ReadonlySet<string> {
    this.heldKeys ??= new Set(this.partition.held.map((t) => subjectKey({ type: "thread", id: t.id })));
    return this.heldKeys;
  }
}
