/**
 * What simulated developers work with: names, teams, repositories, models, prompts and shell
 * commands. Model names come from the price table (`@codex-fleet/pricing`), plus one local
 * model the table does not know, so the dashboard shows unpriced usage too.
 */

/** Developer names used before falling back to `dev-0001`, `dev-0002`, … */
export const DEFAULT_NAMES = [
  "alice",
  "bob",
  "carol",
  "dave",
  "erin",
  "frank",
  "grace",
  "heidi",
  "ivan",
  "judy",
  "mallory",
  "niaj",
  "olivia",
  "peggy",
  "rupert",
  "sybil",
  "trent",
  "victor",
  "walter",
  "yvonne",
] as const;

/** Teams used when none are given; developers are assigned round-robin. */
export const DEFAULT_TEAMS = ["payments", "platform", "mobile"] as const;

const TEAM_REPOS: Record<string, readonly string[]> = {
  payments: ["acme/payments-api", "acme/ledger", "acme/checkout-web"],
  platform: ["acme/infra", "acme/platform-tools", "acme/observability"],
  mobile: ["acme/ios-app", "acme/android-app"],
};

/** A few repositories per team, as `owner/name`. */
export function reposForTeam(team: string): readonly string[] {
  const slug = team.toLowerCase().replace(/[^a-z0-9]+/g, "-") || "team";
  return TEAM_REPOS[team] ?? [`acme/${slug}-service`, `acme/${slug}-web`];
}

/** The origin URL a checkout of `owner/name` reports (scp-like or https, as developers clone). */
export function originUrl(repo: string, https: boolean): string {
  return https ? `https://github.com/${repo}.git` : `git@github.com:${repo}.git`;
}

/** A model a thread can run with. `provider` is the thread's `modelProvider`. */
export interface SimModel {
  readonly model: string;
  readonly provider: string;
  readonly reasoningEffort: string | null;
  /** Relative share among threads. */
  readonly weight: number;
}

/** Priced models from the default price table, and `local-llama`, which is unpriced on purpose. */
export const MODELS: readonly SimModel[] = [
  { model: "gpt-5.4", provider: "openai", reasoningEffort: "medium", weight: 40 },
  { model: "gpt-5.5", provider: "openai", reasoningEffort: "high", weight: 15 },
  { model: "gpt-5.2-codex", provider: "openai", reasoningEffort: "medium", weight: 20 },
  { model: "gpt-5.4-mini", provider: "openai", reasoningEffort: "low", weight: 20 },
  { model: "local-llama", provider: "ollama", reasoningEffort: null, weight: 5 },
];

/** Models codex has metadata for; others get a per-turn `warning` (facts §1). */
export const KNOWN_MODELS: ReadonlySet<string> = new Set([
  "gpt-5.4",
  "gpt-5.5",
  "gpt-5.2-codex",
  "gpt-5.4-mini",
]);

/** The effective context window 0.169.0 reports (`modelContextWindow`, measured: 258400). */
export const MODEL_CONTEXT_WINDOW = 258_400;

/** Opening prompts; a thread's `preview` is its first user message. */
export const PROMPTS = [
  "Fix the flaky retry test in the payment client",
  "Add pagination to the invoices endpoint",
  "Why does the build fail on CI but not locally?",
  "Refactor the config loader to validate with zod",
  "Write unit tests for the currency rounding helpers",
  "Upgrade the HTTP client and fix the breaking changes",
  "Explain how the ledger reconciliation job works",
  "Add a dark mode toggle to the settings screen",
  "Find the memory leak in the websocket gateway",
  "Make the migration idempotent",
  "Add structured logging to the worker",
  "Rename the Account model to Customer everywhere",
  "Speed up the slow integration tests",
  "Review this diff for race conditions",
  "Add a health check endpoint",
  "Port the cron job to the new scheduler",
] as const;

/** Follow-up messages within a thread. */
export const FOLLOW_UPS = [
  "Now run the tests",
  "Looks good, also handle the empty case",
  "Can you simplify that?",
  "Add a comment explaining why",
  "That broke the linter, fix it",
  "Use the existing helper instead",
  "Commit message please",
  "Try again with a smaller change",
] as const;

/** Shell commands the agent runs (as `exec_command {cmd}`; items show them wrapped in bash -lc). */
export const COMMANDS = [
  "npm test",
  "git status --short",
  "rg -n TODO src",
  "npx tsc --noEmit",
  "pytest -q tests/test_ledger.py",
  "go test ./...",
  "cargo test --quiet",
  "ls -la",
  "sed -n 1,120p src/app.ts",
  "git diff --stat",
  "npm run lint",
  "make build",
] as const;

/** `error.message` of an HTTP 500 from the model (exact 0.169.0 text, facts §3). */
export const HTTP_500_MESSAGE = "We’re currently experiencing high demand, which may cause temporary errors.";

/** `error.message` of a `response.failed` event: 0.169.0 prefixes the model's own message. */
export const RESPONSE_FAILED_MESSAGE =
  "stream disconnected before completion: An error occurred while processing your request. You can retry your request, or contact us through our help center at help.openai.com if the error persists.";

/** Questions the agent asks with `request_user_input`. */
export const QUESTIONS = [
  {
    header: "Scope",
    question: "Should I also update the callers?",
    options: ["Yes", "No, only this module"],
  },
  {
    header: "Approach",
    question: "Keep the old API as a deprecated alias?",
    options: ["Keep it", "Remove it"],
  },
] as const;
