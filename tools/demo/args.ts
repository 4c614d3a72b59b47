/** Command-line options of `npm run demo` (pure parsing, so it can be tested). */

export interface DemoArgs {
  developers: number;
  teams: string[];
  seed: string;
  /** Mean turns per developer per minute once live. */
  turnsPerMinute: number;
  /** Days of history replayed at start (0: none). */
  historyDays: number;
  /** Collector port; null: 8080 when free, else any free port. */
  port: number | null;
  /** Run this many seconds, then compare the collector's totals with the simulator's and exit. */
  verifySeconds: number | null;
  unloadAfterMs: number;
  /** Keep the temporary directory (config, tokens, database, log) after exit. */
  keep: boolean;
  help: boolean;
}

export const DEMO_USAGE = `npm run demo [-- options]

Starts simulated codex app-servers (one per developer, with a week of history replayed through
the protocol), then the real collector and dashboard against them.

  --developers N        simulated developers (default 8)
  --teams a,b,c         team names, assigned round-robin (default payments,platform,mobile)
  --turns-per-minute X  mean turns per developer per minute when live (default 2.5)
  --history-days D      days of history to replay at start (default 7, 0 = none)
  --seed S              seed of the simulation (default "demo")
  --port P              collector port (default 8080 if free, else a free port)
  --unload-after-ms MS  simulated servers unload idle threads after MS (default 60000, like codex)
  --verify[=SECONDS]    run SECONDS (default 60), compare totals, print them, exit 0 if equal
  --keep                keep the temporary directory (config, tokens, database, log)
`;

function num(name: string, value: string | undefined, min: number, max: number): number {
  const n = Number(value);
  if (value === undefined || value.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
    throw new Error(`${name} needs a number between ${min} and ${max}, got ${value ?? "nothing"}`);
  }
  return n;
}

/** Parse `process.argv.slice(2)`; throws with a readable message on a bad option. */
export function parseDemoArgs(argv: readonly string[]): DemoArgs {
  const args: DemoArgs = {
    developers: 8,
    teams: ["payments", "platform", "mobile"],
    seed: "demo",
    turnsPerMinute: 2.5,
    historyDays: 7,
    port: null,
    verifySeconds: null,
    unloadAfterMs: 60_000,
    keep: false,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i] as string;
    const eq = raw.indexOf("=");
    const name = eq > 0 ? raw.slice(0, eq) : raw;
    const inline = eq > 0 ? raw.slice(eq + 1) : undefined;
    const value = (): string | undefined => inline ?? argv[++i];
    switch (name) {
      case "--developers":
        args.developers = Math.round(num(name, value(), 1, 5000));
        break;
      case "--teams":
        args.teams = (value() ?? "")
          .split(",")
          .map((t) => t.trim())
          .filter((t) => t !== "");
        if (args.teams.length === 0) throw new Error("--teams needs at least one name");
        break;
      case "--turns-per-minute":
        args.turnsPerMinute = num(name, value(), 0.01, 600);
        break;
      case "--history-days":
        args.historyDays = num(name, value(), 0, 30);
        break;
      case "--seed":
        args.seed = value() ?? "";
        if (args.seed === "") throw new Error("--seed needs a value");
        break;
      case "--port":
        args.port = Math.round(num(name, value(), 0, 65535));
        break;
      case "--unload-after-ms":
        args.unloadAfterMs = Math.round(num(name, value(), 100, 86_400_000));
        break;
      case "--verify":
        args.verifySeconds = inline === undefined ? 60 : num(name, inline, 5, 86_400);
        break;
      case "--keep":
        args.keep = true;
        break;
      case "--help":
      case "-h":
        args.help = true;
        break;
      default:
        throw new Error(`unknown option ${raw} (see --help)`);
    }
  }
  return args;
}
