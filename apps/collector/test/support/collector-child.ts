/**
 * The shipped collector as a child process (`node dist/main.js --config FILE`, what `npm start`
 * and the image run), for faults only a process has: SIGKILL, SIGTERM and its exit code. A thin
 * name for the product's launcher (src/launch.ts); the config comes from `writeTestConfig`.
 */
export { type CollectorProcess as CollectorChild, launchCollector } from "../../src/launch.ts";
export { writeTestConfig as writeChildConfig } from "./collector.ts";

import { type CollectorProcess, launchCollector } from "../../src/launch.ts";

/** Start the collector from `configFile`; resolves once it listens and `/readyz` answers 200. */
export function spawnCollector(configFile: string, timeoutMs = 60_000): Promise<CollectorProcess> {
  return launchCollector({ configFile, timeoutMs });
}
