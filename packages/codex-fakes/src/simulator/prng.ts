/**
 * A small seeded PRNG (sfc32) with the distributions the simulated developers need. Every
 * simulated server gets its own stream forked from the fleet seed, so a run is reproducible
 * whatever the interleaving of timers across servers.
 */

/** Deterministic random source. */
export interface Prng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** Picks by weight from `[value, weight]` pairs. */
  weighted<T>(entries: readonly (readonly [T, number])[]): T;
  /** Exponential with the given mean (inter-arrival times of a Poisson process). */
  exp(mean: number): number;
  /** Log-normal around `median` (sigma in log space): long-tailed sizes and durations. */
  logNormal(median: number, sigma: number): number;
  /** A new independent stream derived from this one's seed and a label. */
  fork(label: string | number): Prng;
}

function hash32(text: string): number {
  // FNV-1a, then a murmur3 finalizer to spread the bits.
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A PRNG seeded by a number or string. */
export function createPrng(seed: number | string): Prng {
  const key = String(seed);
  let a = hash32(`a:${key}`);
  let b = hash32(`b:${key}`);
  let c = hash32(`c:${key}`);
  let d = hash32(`d:${key}`) | 1;
  const next = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  const prng: Prng = {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => {
      if (items.length === 0) throw new Error("pick from an empty list");
      return items[Math.floor(next() * items.length)] as (typeof items)[number];
    },
    weighted: (entries) => {
      let sum = 0;
      for (const [, w] of entries) sum += w;
      let r = next() * sum;
      for (const [value, w] of entries) {
        r -= w;
        if (r < 0) return value;
      }
      const last = entries[entries.length - 1];
      if (!last) throw new Error("weighted pick from an empty list");
      return last[0];
    },
    exp: (mean) => -Math.log(1 - next()) * mean,
    logNormal: (median, sigma) => {
      // Box-Muller; 1 - next() keeps the log argument > 0.
      const z = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
      return median * Math.exp(sigma * z);
    },
    fork: (label) => createPrng(`${key}/${label}`),
  };
  return prng;
}
