import { runFootprint } from "./scenarios/footprint.ts";
console.log(JSON.stringify(await runFootprint({ turns: Number(process.argv[2] ?? 6) })));
process.exit(0);
