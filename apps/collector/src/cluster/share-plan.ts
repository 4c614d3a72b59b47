/**
 * Which target leases this instance should acquire and release (issue 12), as a pure function of
 * one snapshot of the lease table and the live instances: the fair share is floor or ceil of
 * targets / live instances (quotas every instance computes alike); an instance above its quota
 * hands the excess over (release, then the others acquire), one below it acquires free leases, spread by a per-instance order so that
 * instances acquiring at once rarely want the same ones. A lease left free for two snapshots in a
 * row is taken by anyone regardless of share (liveness first; a later snapshot rebalances).
 */

export interface ShareInput {
  /** This instance's id. */
  self: string;
  /** Every target (lease names) the fleet knows. */
  targets: readonly string[];
  /** Live leases (expires_at > now() on the database clock): lease name → holder id. */
  liveHolders: ReadonlyMap<string, string>;
  /** Ids of live instances (their registry rows have not expired). */
  liveInstances: readonly string[];
  /** Leases this instance holds and renews. */
  held: ReadonlySet<string>;
  /** Targets that were free in this instance's previous snapshot. */
  freeBefore: ReadonlySet<string>;
  /**
   * Held leases never handed over for fair share (only when their target is no longer known):
   * ones this instance handed over before and no other instance took (see keeper.ts).
   */
  keep?: ReadonlySet<string>;
}

export interface SharePlan {
  /** This instance's quota: floor or ceil of targets / live instances. */
  share: number;
  acquire: string[];
  /** Held leases to hand over (above the share, or of targets no longer known). */
  release: string[];
  /** Targets nobody holds in this snapshot. */
  free: string[];
}

export function planShare(input: ShareInput): SharePlan {
  const targets = new Set(input.targets);
  const instances = new Set(input.liveInstances);
  instances.add(input.self);
  const count = new Map<string, number>();
  for (const i of instances) count.set(i, 0);
  const free: string[] = [];
  for (const t of targets) {
    const holder = input.held.has(t) ? input.self : input.liveHolders.get(t);
    if (holder === undefined) free.push(t);
    else {
      // An instance that holds a live lease is live, whatever its registry row says.
      instances.add(holder);
      count.set(holder, (count.get(holder) ?? 0) + 1);
    }
  }
  // Quotas: floor(targets / instances) each, one more for the `targets mod instances` instances
  // holding the most now (ties by id), so that every instance computes the same split and the
  // fewest leases move.
  const base = Math.floor(targets.size / instances.size);
  const extra = targets.size % instances.size;
  const ranked = [...instances].sort((a, b) => (count.get(b) ?? 0) - (count.get(a) ?? 0) || (a < b ? -1 : 1));
  const quota = new Map(ranked.map((id, i) => [id, base + (i < extra ? 1 : 0)]));
  const share = quota.get(input.self) ?? base;
  const release = [...input.held].filter((n) => !targets.has(n)).sort();
  const mine = [...input.held].filter((n) => targets.has(n)).sort();
  let deficit = 0;
  for (const [i, n] of count) if (i !== input.self) deficit += Math.max(0, (quota.get(i) ?? base) - n);
  // Hand over only what another instance has room for beyond the free leases it will take first.
  const movable = mine.filter((n) => !input.keep?.has(n));
  const excess = Math.min(mine.length - share, deficit - free.length, movable.length);
  if (excess > 0) release.push(...movable.slice(movable.length - excess));
  const room = Math.max(0, share - mine.length);
  const order = (n: string) => spread(`${input.self}\u0000${n}`);
  const byOrder = [...free].sort((a, b) => order(a) - order(b) || (a < b ? -1 : 1));
  const acquire = byOrder.slice(0, room);
  const taken = new Set(acquire);
  for (const n of byOrder) if (!taken.has(n) && input.freeBefore.has(n)) acquire.push(n);
  return { share, acquire, release, free };
}

/** FNV-1a: a cheap, stable, per-instance order. */
function spread(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
