import { runFleetSize } from "./scenarios/fleet-size.ts";
const sizes = process.argv.slice(2).map(Number);
console.log(JSON.stringify(await runFleetSize({ sizes, settleMs: 3000, sampleMs: 5000, activeMs: 10000, activeTurnsPerMinute: 1 }), null, 1));
