import { recordFleet } from "./lib/recorder.ts";
const [servers, days, tpd] = process.argv.slice(2).map(Number);
const r = await recordFleet({ servers: servers ?? 10, days: days ?? 1, turnsPerDay: tpd ?? 20, seed: "x" });
const methods = new Map<string, number>();
for (const s of r.servers) for (const f of s.frames) { const m = (JSON.parse(f.toString()) as {method?: string}).method ?? "?"; methods.set(m, (methods.get(m) ?? 0) + 1); }
console.log({ frames: r.frames, bytes: r.bytes, turns: r.turns, usage: r.usageFrames, served: r.served, ms: r.recordMs, rss: process.memoryUsage().rss / 2**20 });
console.log(methods);
