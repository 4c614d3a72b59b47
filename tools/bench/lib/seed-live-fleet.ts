/**
 * A fleet as a collector finds it in its database on start (issue 13 goal 2e): `targets` targets
 * in 20 teams and `threadsPerTarget` threads each, seeded set-based. The collector loads the
 * threads into memory (fleet.ts start → loadThreads) and its live feed's snapshot carries every
 * target and the most relevant threads (live/snapshot.ts). Thread rows carry what a real one
 * does (cwd, repo, branch, model, a title, counters); a tenth of the threads are active.
 */
import type { DbPool } from "@codex-fleet/db/client";
import type { BenchTarget } from "./collector-proc.ts";

export interface LiveFleetSeed {
  targets: BenchTarget[];
  threads: number;
  ms: number;
}

const name = (i: number) => `dev-${String(i).padStart(5, "0")}`;
const team = (i: number) => `team-${String(i % 20).padStart(2, "0")}`;

export async function seedLiveFleet(args: {
  pool: DbPool;
  targets: number;
  threadsPerTarget: number;
  nowMs: number;
}): Promise<LiveFleetSeed> {
  const t0 = performance.now();
  const { pool, nowMs } = args;
  // Nothing listens on port 1: every target stays closed and retries with the product's backoff
  // (1 s doubling to 60 s), as targets the collector cannot reach do.
  const targets: BenchTarget[] = Array.from({ length: args.targets }, (_, k) => ({
    name: name(k + 1),
    team: team(k + 1),
    url: `ws://127.0.0.1:1/${k + 1}`,
    token: null,
  }));
  await pool.query(
    `INSERT INTO target (id, team, url)
     SELECT 'dev-' || lpad(i::text, 5, '0'), 'team-' || lpad((i % 20)::text, 2, '0'), 'ws://127.0.0.1:1/' || i
     FROM generate_series(1, $1::int) AS i ON CONFLICT (id) DO NOTHING`,
    [args.targets],
  );
  await pool.query(
    `INSERT INTO thread (id, target_id, cwd, repo, git_branch, model, model_provider, source, name, cli_version,
        status, status_since, last_event_at, created_at, updated_at, counted_input_tokens,
        counted_cached_input_tokens, counted_output_tokens, counted_total_tokens, baseline_at)
     SELECT 'th-' || lpad(i::text, 5, '0') || '-' || lpad(j::text, 3, '0'),
        'dev-' || lpad(i::text, 5, '0'),
        '/home/dev' || i || '/src/repo-' || lpad(((i + j) % 40)::text, 2, '0'),
        'github.com/acme/repo-' || lpad(((i + j) % 40)::text, 2, '0'),
        'feature/change-' || (i * 7 + j),
        (ARRAY['gpt-5.5', 'gpt-5.5-mini', 'gpt-5.4-codex'])[1 + (i + j) % 3], 'openai', 'cli',
        'Refactor the billing module and add tests for case ' || (i * 31 + j),
        '0.130.0',
        CASE WHEN j = 0 THEN 'active' ELSE 'idle' END, at, at, at - interval '3 hours', at,
        (i * 1000 + j * 17), (i * 600 + j * 5), (i * 90 + j), (i * 1090 + j * 18), at - interval '3 hours'
     FROM generate_series(1, $1::int) AS i, generate_series(0, $2::int - 1) AS j,
        LATERAL (SELECT to_timestamp($3 / 1000.0) AT TIME ZONE 'UTC' - make_interval(secs => (i * 37 + j * 997) % 86400) AS at) a`,
    [args.targets, args.threadsPerTarget, nowMs],
  );
  await pool.query("VACUUM ANALYZE target, thread");
  return { targets, threads: args.targets * args.threadsPerTarget, ms: performance.now() - t0 };
}
