import { runIngest } from "./scenarios/ingest.ts";
const [servers, days, tpd] = process.argv.slice(2).map(Number);
const prof = process.env.PROF ? ["--cpu-prof", "--cpu-prof-dir=/tmp/bw/prof"] : [];
console.log(JSON.stringify(await runIngest({ servers: servers ?? 50, days: days ?? 2, turnsPerDay: tpd ?? 40, collectorNodeArgs: prof }), null, 1));
