/**
 * Child process hosting a simulated fleet (@codex-fleet/codex-fakes/simulator), driven over IPC by
 * sim-proc.ts, so that the simulator's CPU and memory never count as the collector's.
 */
import {
  type SimulatedFleet,
  type SimulatedFleetOptions,
  startSimulatedFleet,
} from "@codex-fleet/codex-fakes/simulator";

/** A request from the parent. */
export type SimRequest =
  | { id: number; cmd: "start"; options: SimulatedFleetOptions }
  | { id: number; cmd: "resume" | "pause" | "idle" | "stats" | "served" | "close" };

let fleet: SimulatedFleet | null = null;

async function handle(req: SimRequest): Promise<unknown> {
  if (req.cmd === "start") {
    fleet = await startSimulatedFleet(req.options);
    return fleet.servers;
  }
  if (!fleet) throw new Error("fleet not started");
  switch (req.cmd) {
    case "resume":
      fleet.resume();
      return null;
    case "pause":
      fleet.pause();
      return null;
    case "idle":
      await fleet.idle(20);
      return null;
    case "stats":
      return fleet.stats();
    case "served":
      return { served: fleet.served, violations: fleet.violations.length };
    case "close":
      await fleet.close();
      setImmediate(() => process.exit(0));
      return null;
  }
}

process.on("message", (req: SimRequest) => {
  handle(req).then(
    (result) => process.send?.({ id: req.id, result }),
    (err: unknown) => process.send?.({ id: req.id, error: err instanceof Error ? err.message : String(err) }),
  );
});
process.on("disconnect", () => process.exit(0));
