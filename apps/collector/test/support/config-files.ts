/** Test support for the config loader tests: scratch directories and DESIGN.md's example. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { parse } from "yaml";
import { ConfigError } from "../../src/config/errors.ts";
import { loadConfig } from "../../src/config/load.ts";

const scratchDirs: string[] = [];

/** Removes every directory `scratch` made (call from `afterAll`). */
export async function removeScratchDirs(): Promise<void> {
  await Promise.all(scratchDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** A fresh directory holding `files`. */
export async function scratch(files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "fleet-config-"));
  scratchDirs.push(dir);
  await Promise.all(Object.entries(files).map(([name, text]) => writeFile(join(dir, name), text)));
  return dir;
}

/** Loads `fleet.yaml` (or `name`) written with `text` into a fresh directory. */
export async function loadFile(
  text: string,
  {
    env = {},
    name = "fleet.yaml",
    files = {},
  }: { env?: Record<string, string>; name?: string; files?: Record<string, string> } = {},
) {
  const dir = await scratch({ [name]: text, ...files });
  return { dir, config: await loadConfig({ argv: ["--config", name], env, cwd: dir }) };
}

/** The ConfigError message a load rejects with. */
export async function errorOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return (error as ConfigError).message;
}

export const PEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";

// DESIGN.md's example, with the token and CA files relative to the config file.
export const DESIGN_EXAMPLE_YAML = `
server: { host: 127.0.0.1, port: 8080, publicUrl: https://fleet.example.com }
database: { url: postgresql://fleet@db:5432/fleet }   # omitted → embedded PGlite in dataDir
dataDir: ./.codex-fleet
targets:
  - { name: alice, team: payments, url: wss://alice-dev.example.com:4500, tokenFile: alice.token, caFile: ca.pem }
  - { name: bob, team: payments, url: ws://127.0.0.1:4501, tokenEnv: BOB_TOKEN, labels: { site: berlin } }
observer: { idleUnsubscribeMs: 300000, backfillLookbackMs: 86400000 }
alerts:
  repeatIntervalMs: 3600000
  rules:
    - { id: approval-wait, kind: waitingOnApproval, forMs: 300000, severity: warning }
    - { id: input-wait, kind: waitingOnUserInput, forMs: 600000 }
    - { id: stalled, kind: noProgress, forMs: 600000 }
    - { id: turn-failed, kind: turnFailed, severity: critical }
    - { id: system-error, kind: systemError }
    - { id: target-down, kind: targetUnreachable, forMs: 120000 }
    - { id: budget, kind: dailySpend, scope: developer, thresholdUsd: 50 }
    - { id: context, kind: contextWindow, thresholdPct: 90 }
  notify:
    - { type: webhook, url: https://hooks.example.com/codex, secretEnv: FLEET_WEBHOOK_SECRET }
    - { type: slack, url: https://hooks.slack.com/services/T000/B000/XXXX }
pricing:
  overrides:
    - { model: gpt-5.5, effectiveFrom: 2026-10-01, inputUsdPerMTok: 5, cachedInputUsdPerMTok: 0.5, outputUsdPerMTok: 30 }
`;

/** The same example as JSON text. */
export const DESIGN_EXAMPLE_JSON = JSON.stringify(parse(DESIGN_EXAMPLE_YAML), null, 2);

export const EXAMPLE_FILES = { "alice.token": "  alice-secret-token\n", "ca.pem": PEM };
export const EXAMPLE_ENV = { BOB_TOKEN: "bob-secret-token", FLEET_WEBHOOK_SECRET: "hook-secret" };
