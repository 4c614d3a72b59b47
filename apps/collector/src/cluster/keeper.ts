/**
 * The lease keeper (issue 12): registers this collector in `collector_instance`, and every third
 * of the lease TTL renews what it holds, reads the lease table, and acquires or hands over target
 * leases toward its fair share (share-plan.ts), following exactly the targets it holds. The
 * `alerts` lease elects the one instance that runs the alert engine and dispatcher.
 *
 * Fencing: each held lease has a local deadline, computed from when the renewal that extended it
 * was SENT (monotonic clock) plus the TTL minus a margin. The database measures the TTL from when
 * it ran that statement, which is later; so past the local deadline the lease may be about to
 * expire, never already taken: the keeper stops acting on it then (closes the target's socket,
 * stops the alert engine), whether or not Postgres answers. Writes that matter are fenced in the
 * database too (alert transitions check the token in their transaction).
 */
import { hostname } from "node:os";
import type { DbPool } from "@codex-fleet/db/client";
import {
  heartbeatInstance,
  type InstanceIdentity,
  listInstances,
  pruneInstances,
  removeInstance,
} from "@codex-fleet/db/repositories/instance-repository";
import {
  acquireLeases,
  expireLeasesOf,
  type LeaseBatch,
  type LiveLease,
  leaseBatch,
  listLiveLeases,
  releaseLeases,
  renewLeaseBatch,
} from "@codex-fleet/db/repositories/lease-repository";
import type { Fleet } from "../fleet/fleet.ts";
import { errText } from "../lib/err-text.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics.ts";
import { planShare } from "./share-plan.ts";

export const ALERTS_LEASE = "alerts";
const TARGET_PREFIX = "target:";
export const targetLease = (name: string) => `${TARGET_PREFIX}${name}`;

/** How long an orderly handover waits for what the target sent to be written before releasing. */
const HANDOVER_SETTLE_MS = 5_000;

export interface AlertsLeadership {
  /** This instance became the alert leader (load persisted state, evaluate, dispatch). */
  lead(fence: { name: string; holder: string; token: number }): Promise<void>;
  /** It is no longer (lease lost or handed over): stop at once. */
  stepDown(): Promise<void>;
}

export interface KeeperOptions {
  pool: DbPool;
  fleet: Fleet;
  log: Logger;
  metrics: Metrics;
  identity: InstanceIdentity;
  ttlMs: number;
  /** Embedded PGlite: no other instance can be live, every other lease is a dead predecessor's. */
  embedded: boolean;
  alerts?: AlertsLeadership;
  /** Monotonic clock (default performance.now). */
  clock?: () => number;
}

interface Held {
  token: number;
  /** Local deadline (clock ms): stop acting on the lease past it. */
  deadline: number;
  /** Past its deadline but kept: this instance was alone when Postgres was last reachable. */
  overdue?: boolean;
}

/** Rounds within which re-taking a lease this instance handed over means nobody took it. */
const UNCLAIMED_ROUNDS = 4;

export class LeaseKeeper {
  /** Change it only through hold() / drop(): they keep `renewal` and `earliest` right. */
  private readonly held = new Map<string, Held>();
  /**
   * The renewal's parameters for what is held now, built once per change of `held` (not per
   * round: at 10,000 targets, rebuilding and serialising them every round was most of what the
   * idle collector allocated). Null: rebuild at the next round.
   */
  private renewal: LeaseBatch | null = null;
  /**
   * No lease that fence() may act on has a deadline before this (a lower bound: deadlines only
   * move later, so the fence timer does a full pass only once one may have passed).
   */
  private earliest = Number.POSITIVE_INFINITY;
  /** The live leases as of the last round, kept while their digest stays the same. */
  private live: LiveView | null = null;
  private readonly clock: () => number;
  private readonly margin: number;
  private timer: NodeJS.Timeout | null = null;
  private fenceTimer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  private kicked = false;
  /** start() has run: before it (or without it — a collector told what to follow), a kick does nothing. */
  private started = false;
  private stopped = false;
  private freeBefore = new Set<string>();
  private ticks = 0;
  /** Target leases this instance handed over, and the round it did. */
  private handedOver = new Map<string, number>();
  /**
   * Once a handover went untaken (this instance took the leases back after they had been free for
   * two rounds), every target lease it holds is kept, not handed over again, until the live
   * instances change. An
   * instance that does not list a target never takes it — collectors started with different
   * configs (or mid-way through a rolling config change) — and handing it over again and again
   * would drop and reconnect those targets every few rounds.
   */
  private keep = new Set<string>();
  private keepFor = "";
  /** Changes with every hold() and drop(). */
  private heldVersion = 0;
  /**
   * What the last round planned from, when it found nothing to do (nothing to acquire, release or
   * follow, no free lease): a round with the same inputs would find the same, so it skips the
   * planning — at 10,000 targets, a few MB of sets and arrays every round of an idle collector.
   */
  private settled: { live: LiveView; key: string } | null = null;
  /** Rounds that read the lease table (reached Postgres). */
  snapshotsRead = 0;
  /** Of those, the rounds that planned the share (the others found their inputs as a settled one did). */
  plannedRounds = 0;
  /** The last snapshot showed no other live instance and no lease held by another. */
  private alone = false;
  /** The last round trip to Postgres succeeded (readiness). */
  databaseOk = false;

  constructor(private readonly opts: KeeperOptions) {
    this.clock = opts.clock ?? (() => performance.now());
    // Room for clock rate differences and for stopping what the lease guards.
    this.margin = Math.max(Math.round(opts.ttlMs / 5), 200);
  }

  get instanceName(): string {
    return this.opts.identity.name;
  }

  get intervalMs(): number {
    return Math.max(Math.round(this.opts.ttlMs / 3), 100);
  }

  /** Lease names held now (metrics, views). */
  heldNames(): string[] {
    return [...this.held.keys()];
  }

  isAlertLeader(): boolean {
    return this.held.has(ALERTS_LEASE);
  }

  /** Register, reclaim what dead predecessors on this host left, take a first share. */
  async start(): Promise<void> {
    const { pool, identity, log } = this.opts;
    await heartbeatInstance({ pool, instance: identity, ttlMs: this.opts.ttlMs });
    this.databaseOk = true;
    const dead = (await listInstances({ pool })).filter(
      (i) =>
        i.id !== identity.id &&
        (this.opts.embedded || (i.host === identity.host && i.pid !== process.pid && !isAlive(i.pid))),
    );
    if (dead.length > 0) {
      const n = await expireLeasesOf({ pool, holders: dead.map((i) => i.id) });
      for (const i of dead) await removeInstance({ pool, id: i.id });
      if (n > 0)
        log.info(
          { leases: n, instances: dead.map((i) => i.name) },
          "cluster: took back the leases of a previous process that is gone",
        );
    }
    this.started = true;
    await this.tick();
    this.schedule();
    this.fenceTimer = setInterval(() => this.fence(), Math.max(50, Math.round(this.margin / 4)));
    this.fenceTimer.unref();
    log.info(
      { instance: identity.name, id: identity.id, leaseTtlMs: this.opts.ttlMs, targets: this.held.size },
      "cluster: instance registered",
    );
  }

  /** Look at the lease table soon (a target was added or removed). */
  kick(): void {
    if (!this.started || this.stopped || this.kicked) return;
    this.kicked = true;
    setTimeout(() => {
      this.kicked = false;
      void this.serial(() => this.tick());
    }, 20).unref();
  }

  /** Stop renewing and acquiring (the caller stops what the leases guard, then `release()`). */
  async pause(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.chain;
  }

  /** An orderly stop: give every lease back at once and leave the registry. */
  async release(): Promise<void> {
    await this.pause();
    if (this.fenceTimer) clearInterval(this.fenceTimer);
    const { pool, identity } = this.opts;
    const leases = [...this.held].map(([name, h]) => ({ name, token: h.token }));
    for (const l of leases) this.drop(l.name);
    try {
      await releaseLeases({ pool, holder: identity.id, leases });
      this.opts.metrics.leaseReleases.inc("all", leases.length);
      await removeInstance({ pool, id: identity.id });
    } catch (err) {
      this.opts.log.warn(
        { err: errText(err) },
        "cluster: could not release leases at stop; they expire within the lease TTL",
      );
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.serial(() => this.tick()).finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const run = this.chain.then(() => (this.stopped ? undefined : fn()));
    this.chain = run.catch(() => {});
    return this.chain;
  }

  private async tick(): Promise<void> {
    this.ticks++;
    const { pool, identity, log, metrics } = this.opts;
    const ttlMs = this.opts.ttlMs;
    try {
      // The registry row first, so that it expires no later than the leases renewed after it.
      await heartbeatInstance({ pool, instance: identity, ttlMs });
      const sent = this.clock();
      this.renewal ??= leaseBatch([...this.held].map(([name, h]) => ({ name, token: h.token })));
      const mine = this.renewal;
      // Every lease of the batch with its token, but those the database did not renew.
      const notRenewed = new Set(await renewLeaseBatch({ pool, holder: identity.id, batch: mine, ttlMs }));
      const expired: string[] = [];
      const deadline = sent + ttlMs - this.margin;
      for (let i = 0; i < mine.names.length; i++) {
        const name = mine.names[i] as string;
        const h = this.held.get(name);
        if (!h || h.token !== mine.tokens[i]) continue;
        if (!notRenewed.has(name)) {
          h.deadline = deadline;
          // Renewed: fenced by its deadline again. Kept overdue, it would be followed past its
          // deadline in every later outage — when another instance may take it over.
          h.overdue = false;
        } else expired.push(name);
      }
      this.earliest = Math.min(this.earliest, deadline);
      // Kept while alone through an outage: take the lease again if nobody has (a new token).
      const again = new Map(
        (
          await acquireLeases({
            pool,
            holder: identity.id,
            holderName: identity.name,
            names: expired.filter((n) => n !== ALERTS_LEASE),
            ttlMs,
          })
        ).map((l) => [l.name, l.token]),
      );
      for (const name of expired) {
        const token = again.get(name);
        const h = this.held.get(name);
        if (token !== undefined && h) this.hold(name, { token, deadline });
        else this.lose(name, "not renewed (expired or taken)");
      }
      const [live, instances] = await Promise.all([
        listLiveLeases({ pool, unless: this.live?.digest ?? null }),
        listInstances({ pool }),
      ]);
      this.databaseOk = true;
      this.snapshotsRead++;
      if (live.leases !== null || this.live === null)
        this.live = liveView(live.digest, live.leases ?? [], identity.id);
      this.alone = !instances.some((i) => i.live && i.id !== identity.id) && !this.live.othersHold;
      const liveIds = instances
        .filter((i) => i.live)
        .map((i) => i.id)
        .sort();
      const membership = liveIds.join(",");
      const key = this.roundKey(membership);
      if (this.settled?.live !== this.live || this.settled.key !== key)
        await this.planRound(this.live, liveIds, membership, key);
      await this.leadAlerts(this.live.alertsHeld);
      if (this.ticks % 1000 === 0) await pruneInstances({ pool });
    } catch (err) {
      if (this.databaseOk)
        log.warn({ err: errText(err) }, "cluster: cannot reach the database to renew leases");
      this.databaseOk = false;
      metrics.leaseRenewFailures.inc("tick");
    }
  }

  /**
   * Plan this instance's share from one snapshot of the live leases and instances: hand over what
   * is above it, acquire what is below it, follow what is held. Settled (see `settled`) when it
   * finds nothing to do.
   */
  private async planRound(
    live: LiveView,
    liveIds: readonly string[],
    membership: string,
    key: string,
  ): Promise<void> {
    const { identity, fleet, log } = this.opts;
    const { liveHolders, followers } = live;
    this.settled = null;
    this.plannedRounds++;
    fleet.setFollowers(followers);
    if (membership !== this.keepFor) {
      // Another instance joined or left: it may take what the previous ones did not.
      this.keep.clear();
      this.keepFor = membership;
    }
    const plan = planShare({
      keep: this.keep,
      self: identity.id,
      targets: [...fleet.targets.keys()].map(targetLease),
      liveHolders,
      liveInstances: liveIds,
      held: new Set([...this.held.keys()].filter((n) => n.startsWith(TARGET_PREFIX))),
      freeBefore: this.freeBefore,
    });
    this.freeBefore = new Set(plan.free);
    if (plan.release.length > 0 && !this.stopped) await this.handOver(plan.release);
    const won = plan.acquire.length > 0 && !this.stopped ? await this.acquire(plan.acquire) : [];
    this.noteUnclaimed(won);
    if (won.length > 0)
      log.info({ targets: won.length, share: plan.share }, "cluster: acquired target leases");
    // Held but not followed: just acquired, or a follow that failed, or a target re-added.
    const toFollow = [...this.held.keys()]
      .filter((n) => n.startsWith(TARGET_PREFIX))
      .map((n) => n.slice(TARGET_PREFIX.length))
      .filter((n) => fleet.targets.get(n)?.followed === false);
    if (toFollow.length > 0) await fleet.follow(toFollow, identity.name);
    // Settled only if nothing moved meanwhile (a follow that failed unfollows, a lease lost).
    if (
      plan.acquire.length + plan.release.length + plan.free.length + toFollow.length === 0 &&
      key === this.roundKey(membership)
    )
      this.settled = { live, key };
  }

  /** What a round plans from besides the live leases: held leases, the fleet's targets, live instances. */
  private roundKey(membership: string): string {
    return `${this.heldVersion} ${this.opts.fleet.targetsVersion} ${membership}`;
  }

  private async acquire(names: string[]): Promise<string[]> {
    const { pool, identity, metrics } = this.opts;
    const sent = this.clock();
    const won = await acquireLeases({
      pool,
      holder: identity.id,
      holderName: identity.name,
      names,
      ttlMs: this.opts.ttlMs,
    });
    for (const l of won) {
      this.hold(l.name, { token: l.token, deadline: sent + this.opts.ttlMs - this.margin });
      metrics.leaseAcquisitions.inc(kind(l.name));
      // Someone else held it before (released or expired): a failover. Re-taking a lease this
      // instance lost (say, while cut off from Postgres) is none.
      if (l.previousHolder && l.previousHolder !== identity.id) metrics.leaseTakeovers.inc(kind(l.name));
    }
    return won.map((l) => l.name);
  }

  /** Orderly handover: stop following, let what it sent be written, then release. */
  private async handOver(names: string[]): Promise<void> {
    const { pool, identity, fleet, log, metrics } = this.opts;
    const leases: { name: string; token: number }[] = [];
    for (const name of names) {
      const h = this.held.get(name);
      if (!h) continue;
      if (name.startsWith(TARGET_PREFIX))
        await fleet.unfollow(name.slice(TARGET_PREFIX.length), HANDOVER_SETTLE_MS);
      leases.push({ name, token: h.token });
      this.drop(name);
    }
    const released = await releaseLeases({ pool, holder: identity.id, leases });
    for (const n of released) {
      metrics.leaseReleases.inc(kind(n));
      if (n.startsWith(TARGET_PREFIX)) this.handedOver.set(n, this.ticks);
    }
    log.info({ targets: released.length }, "cluster: handed targets over");
  }

  /** Leases just won that this instance handed over a few rounds ago: nobody else took them. */
  private noteUnclaimed(won: readonly string[]): void {
    const unclaimed: string[] = [];
    for (const name of won) {
      const at = this.handedOver.get(name);
      this.handedOver.delete(name);
      if (at !== undefined && this.ticks - at <= UNCLAIMED_ROUNDS && !this.keep.has(name)) {
        this.keep.add(name);
        unclaimed.push(name.slice(TARGET_PREFIX.length));
      }
    }
    for (const [name, at] of this.handedOver)
      if (this.ticks - at > UNCLAIMED_ROUNDS) this.handedOver.delete(name);
    if (unclaimed.length === 0) return;
    // What was offered went untaken: offering others would fare no better (and drop them too).
    for (const name of this.held.keys()) if (name.startsWith(TARGET_PREFIX)) this.keep.add(name);
    this.opts.log.warn(
      { targets: unclaimed.length, examples: unclaimed.slice(0, 5) },
      "cluster: targets this instance handed over were taken by no other instance, so it keeps them; do all collectors share one config file? (an instance whose config does not list a target never takes it)",
    );
  }

  private async leadAlerts(heldByAnyone: boolean): Promise<void> {
    const alerts = this.opts.alerts;
    if (!alerts || this.stopped || this.held.has(ALERTS_LEASE) || heldByAnyone) return;
    const [won] = await this.acquire([ALERTS_LEASE]);
    const h = won ? this.held.get(won) : undefined;
    if (!h) return;
    this.opts.log.info({ token: h.token }, "cluster: this instance is the alert leader");
    await alerts.lead({ name: ALERTS_LEASE, holder: this.opts.identity.id, token: h.token });
  }

  /** Take (or take again, with a new token) a lease until `deadline`. */
  private hold(name: string, h: Held): void {
    this.held.set(name, h);
    this.heldVersion++;
    this.renewal = null;
    this.earliest = Math.min(this.earliest, h.deadline);
  }

  /** Stop holding a lease; false if it was not held. */
  private drop(name: string): boolean {
    if (!this.held.delete(name)) return false;
    this.heldVersion++;
    this.renewal = null;
    return true;
  }

  /** Past a lease's local deadline: stop acting on it now, before the database can give it away. */
  private fence(): void {
    const now = this.clock();
    // Nothing can be due before `earliest`: O(1) on most runs of this timer.
    if (now < this.earliest) return;
    let kept = 0;
    let next = Number.POSITIVE_INFINITY;
    // forEach, not entries(): no [name, lease] pair allocated per lease.
    this.held.forEach((h, name) => {
      if (h.overdue) return;
      if (now < h.deadline) {
        next = Math.min(next, h.deadline);
        return;
      }
      // Alone, nobody can take a target over: going blind would only lose what the developers
      // do meanwhile (the collector buffers through an outage). A collector that starts during
      // the outage may follow it too until Postgres answers again; accounting stays exact (the
      // conditioned baseline) and alert transitions are fenced in the database.
      if (this.alone && name !== ALERTS_LEASE) {
        h.overdue = true;
        kept++;
      } else this.lose(name, "renewal deadline passed");
    });
    this.earliest = next;
    if (kept > 0)
      this.opts.log.warn(
        { targets: kept },
        "cluster: cannot renew leases, but no other instance was live: still following these targets",
      );
  }

  private lose(name: string, why: string): void {
    if (!this.drop(name)) return;
    const { fleet, log, metrics } = this.opts;
    metrics.leaseLosses.inc(kind(name));
    log.warn({ lease: name, why }, "cluster: lease lost; stopped acting on it");
    if (name === ALERTS_LEASE) void this.opts.alerts?.stepDown();
    else if (name.startsWith(TARGET_PREFIX)) void fleet.unfollow(name.slice(TARGET_PREFIX.length));
  }
}

/** What a round needs of the live leases (lease-repository listLiveLeases). */
interface LiveView {
  digest: string;
  /** Live target leases: lease name → holder id. */
  liveHolders: Map<string, string>;
  /** Target name → the name of the instance holding its live lease. */
  followers: Map<string, string>;
  /** A live lease is held by another instance. */
  othersHold: boolean;
  /** Someone holds the alerts lease. */
  alertsHeld: boolean;
}

function liveView(digest: string, leases: readonly LiveLease[], self: string): LiveView {
  const view: LiveView = {
    digest,
    liveHolders: new Map(),
    followers: new Map(),
    othersHold: false,
    alertsHeld: false,
  };
  for (const l of leases) {
    if (l.holder !== self) view.othersHold = true;
    if (l.name === ALERTS_LEASE) view.alertsHeld = true;
    if (l.name.startsWith(TARGET_PREFIX)) {
      view.liveHolders.set(l.name, l.holder);
      view.followers.set(l.name.slice(TARGET_PREFIX.length), l.holderName);
    }
  }
  return view;
}

function kind(lease: string): string {
  return lease === ALERTS_LEASE ? "alerts" : "target";
}

/** The default instance name: host name and process id. */
export function defaultInstanceName(): string {
  return `${hostname()}-${process.pid}`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
