import { createDb } from "@codex-fleet/db/client";
import { createTestDatabase } from "@codex-fleet/db/testing";
const t = await createTestDatabase();
const db = createDb({ url: t.url });
const q = async (s: string) => (await db.pool.query(s)).rows;
try {
  await q(`INSERT INTO usage_hourly (hour, target_id, team, model, repo, turns, total_tokens, cost_usd) VALUES ('2026-11-20 10:00', 'a', 't', 'm', 'r', 1, 100, 0.5), ('2026-11-20 11:00', 'a', 't', 'm', 'r', 2, 200, 0.25)`);
  await q(`INSERT INTO usage_hourly (hour, target_id, team, model, repo, turns, total_tokens, cost_usd) VALUES ('2026-11-20 10:00', 'a', 't', 'm', 'r', 5, 50, 1), ('2026-11-21 00:00', 'a', 't', 'm', 'r', 7, 70, 0) ON CONFLICT (hour, target_id, team, model, repo) DO UPDATE SET turns = usage_hourly.turns + EXCLUDED.turns, total_tokens = usage_hourly.total_tokens + EXCLUDED.total_tokens, cost_usd = usage_hourly.cost_usd + EXCLUDED.cost_usd`);
  console.log(await q(`SELECT day, turns, total_tokens, cost_usd FROM usage_daily ORDER BY day`));
  await q(`UPDATE usage_hourly SET turns = turns + 1 WHERE hour = '2026-11-21 00:00'`);
  console.log(await q(`SELECT day, turns, total_tokens, cost_usd FROM usage_daily ORDER BY day`));
  await q(`TRUNCATE usage_hourly`);
  console.log(await q(`SELECT count(*) FROM usage_daily`));
} finally { await db.close(); await t.drop(); }
