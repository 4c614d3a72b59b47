/**
 * When a simulated developer worked in the past: turn start times over the last days, clustered
 * into sessions within working hours, light on weekends. Pure: the plan depends only on its inputs.
 */
import type { Prng } from "./prng.ts";

export interface HistoryPlanOptions {
  fromMs: number;
  toMs: number;
  /** Mean turns on a working day. */
  turnsPerDay: number;
  /** The developer's offset from UTC (working hours are 09:00–18:00 local). */
  utcOffsetHours: number;
  prng: Prng;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Turn start times, ascending, all within [fromMs, toMs). */
export function planHistory(o: HistoryPlanOptions): number[] {
  const out: number[] = [];
  const offset = o.utcOffsetHours * HOUR;
  // Local midnight of the first day.
  let day = Math.floor((o.fromMs + offset) / DAY) * DAY - offset;
  for (; day < o.toMs; day += DAY) {
    const weekday = new Date(day + offset + 12 * HOUR).getUTCDay();
    const weekend = weekday === 0 || weekday === 6;
    if (weekend && !o.prng.chance(0.25)) continue;
    const target = Math.max(1, Math.round(o.turnsPerDay * (weekend ? 0.15 : 0.6 + 0.8 * o.prng.next())));
    let planned = 0;
    while (planned < target) {
      // A session: starts in working hours, a handful of turns a few minutes apart.
      let at = day + (9 + o.prng.next() * 8.5) * HOUR;
      const turns = Math.min(target - planned, o.prng.int(2, 9));
      for (let i = 0; i < turns; i++) {
        if (at >= o.fromMs && at < o.toMs) out.push(Math.floor(at));
        at += 60_000 + o.prng.exp(4 * 60_000);
      }
      planned += turns;
    }
  }
  out.sort((a, b) => a - b);
  return out;
}
