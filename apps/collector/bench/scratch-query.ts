import { runQuery } from "./scenarios/query.ts";
const [devs, turns, reqs] = process.argv.slice(2).map(Number);
console.log(JSON.stringify(await runQuery({ developers: devs ?? 1000, days: 30, turns: turns ?? 10_000_000, requests: reqs ?? 20 }), null, 1));
