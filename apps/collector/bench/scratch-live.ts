import { runLiveLatency } from "./scenarios/live-latency.ts";
const [servers, tpm, ms] = process.argv.slice(2).map(Number);
console.log(JSON.stringify(await runLiveLatency({ servers: servers ?? 100, turnsPerMinute: tpm ?? 2, warmupMs: 5000, measureMs: ms ?? 15000 })));
