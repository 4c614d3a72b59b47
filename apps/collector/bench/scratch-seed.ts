import { createDb } from "@codex-fleet/db/client";
import { createTestDatabase } from "@codex-fleet/db/testing";
import { seedUsageHourly } from "./lib/seed-usage.ts";

const tdb = await createTestDatabase();
const db = createDb({ url: tdb.url });
const q = (s: string, p: unknown[] = []) => db.pool.query(s, p);
try {
  const now = Date.now();
  console.log(await seedUsageHourly({ pool: db.pool, developers: 1000, days: 30, turns: 10_000_000, nowMs: now }));
  await q(`CREATE TABLE usage_daily AS SELECT date_trunc('day', hour) AS day, target_id, team, model, repo,
    sum(turns)::bigint turns, sum(failed_turns)::bigint failed_turns, sum(input_tokens)::bigint input_tokens, sum(cached_input_tokens)::bigint cached_input_tokens,
    sum(output_tokens)::bigint output_tokens, sum(reasoning_output_tokens)::bigint reasoning_output_tokens, sum(total_tokens)::bigint total_tokens,
    sum(cost_usd)::numeric(20,10) cost_usd, sum(unpriced_tokens)::bigint unpriced_tokens FROM usage_hourly GROUP BY 1,2,3,4,5`);
  await q(`ALTER TABLE usage_daily ADD PRIMARY KEY (day, target_id, team, model, repo)`);
  await q(`ANALYZE usage_daily`);
  console.log((await q("select count(*) from usage_daily")).rows);
  const SUMS0 = `sum(turns)::float8, sum(failed_turns)::float8, sum(input_tokens)::float8, sum(cached_input_tokens)::float8, sum(output_tokens)::float8, sum(reasoning_output_tokens)::float8, sum(total_tokens)::float8, sum(cost_usd)::float8, sum(unpriced_tokens)::float8`;
  const SUMS = process.argv[2] === 'nocost' ? SUMS0.replace('sum(cost_usd)::float8', 'sum(cost_usd::float8)') : SUMS0;
  const from = new Date(Math.floor(now / 86400000) * 86400000 - 29 * 86400000);
  const today = new Date(Math.floor(now / 86400000) * 86400000);
  const to = new Date(now);
  for (const [name, keys] of [["totals", ""], ["day,team", "day, team"], ["target,team", "target_id, team"], ["model", "model"], ["day,target", "day, target_id"], ["day,model", "day, model"], ["team", "team"]] as const) {
    const times: number[] = [];
    for (let i = 0; i < 9; i++) {
      const t = performance.now();
      const src = `(SELECT day, target_id, team, model, repo, turns, failed_turns, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, total_tokens, cost_usd, unpriced_tokens FROM usage_daily WHERE day >= $1 AND day < $2
        UNION ALL SELECT date_trunc('day', hour), target_id, team, model, repo, turns, failed_turns, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, total_tokens, cost_usd, unpriced_tokens FROM usage_hourly WHERE hour >= $2 AND hour < $3) u`;
      const sql = keys ? `SELECT ${keys}, ${SUMS} FROM ${src} GROUP BY GROUPING SETS ((${keys}), ())` : `SELECT ${SUMS} FROM ${src}`;
      await q(sql, [from, today, to]);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    console.log(name, times.map((x) => x.toFixed(0)).join(" "));
  }
} finally {
  await db.close();
  await tdb.drop();
}
