import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config/load.ts";
import { errorOf, removeScratchDirs, scratch } from "../../support/config-files.ts";

afterAll(removeScratchDirs);

const t0 = "{ name: alice, url: ws://127.0.0.1:4500 }";
const RULE_KINDS =
  '"waitingOnApproval", "waitingOnUserInput", "noProgress", "turnFailed", "systemError", ' +
  '"targetUnreachable", "targetUnauthorized", "dailySpend", "budget", "budgetForecast", "planWindow", ' +
  '"planForecast", "limitReached", "contextWindow", "goalStalled"';

describe("loadConfig: bad keys are named exactly", () => {
  it.each([
    // Cluster (issue 12).
    [
      "a lease TTL below one second",
      "cluster: { leaseTtlMs: 500 }",
      "cluster.leaseTtlMs: must be at least 1000 (1 s): renewals run every third of it",
    ],
    ["an empty instance name", "cluster: { instanceName: '  ' }", "cluster.instanceName: must not be empty"],
    [
      "a non-WebSocket target url",
      `targets: [${t0}, { name: bob, url: http://h:1 }]`,
      "targets[1].url: must be a ws:// or wss:// URL",
    ],
    [
      "an unparsable target url",
      "targets: [{ name: bob, url: not a url }]",
      "targets[0].url: must be a ws:// or wss:// URL",
    ],
    [
      "a target url with credentials",
      "targets: [{ name: bob, url: 'wss://u:p@h:1' }]",
      "targets[0].url: must not contain credentials: use tokenFile or tokenEnv",
    ],
    // SSRF (issue "Hostile input, round two", finding 4): link-local and metadata destinations.
    [
      "a target on the cloud metadata address",
      "targets: [{ name: bob, url: 'ws://169.254.169.254/latest/meta-data/' }]",
      "targets[0].url: refusing to connect to 169.254.169.254: a link-local address (set network.allowLinkLocal: true to allow)",
    ],
    [
      "a target on the metadata address as a decimal number",
      "targets: [{ name: bob, url: 'ws://2852039166/' }]",
      "targets[0].url: refusing to connect to 169.254.169.254: a link-local address (set network.allowLinkLocal: true to allow)",
    ],
    [
      "a target on the metadata address as IPv4-mapped IPv6",
      "targets: [{ name: bob, url: 'ws://[::ffff:169.254.169.254]:4500' }]",
      "targets[0].url: refusing to connect to ::ffff:a9fe:a9fe: a link-local address (set network.allowLinkLocal: true to allow)",
    ],
    [
      "a webhook to the cloud metadata address",
      "alerts: { notify: [{ type: webhook, url: 'http://169.254.169.254/' }] }",
      "alerts.notify[0].url: refusing to connect to 169.254.169.254: a link-local address (set network.allowLinkLocal: true to allow)",
    ],
    [
      "a Slack receiver on a metadata host name",
      "alerts: { notify: [{ type: slack, url: 'http://metadata.google.internal/' }] }",
      "alerts.notify[0].url: refusing to connect to metadata.google.internal: a cloud metadata host (set network.allowLinkLocal: true to allow)",
    ],
    [
      "a non-boolean network.allowLinkLocal",
      "network: { allowLinkLocal: yes please }",
      "network.allowLinkLocal: must be a boolean, got string",
    ],
    ["an unknown network key", "network: { allowPrivate: true }", "network.allowPrivate: unknown key"],
    [
      "a server.allowedHosts entry that is not a host name",
      "server: { allowedHosts: ['http://fleet.example.com'] }",
      "server.allowedHosts[0]: must be a host name like fleet.example.com or .example.com",
    ],
    ["a misspelt top-level key", "servr: { port: 1 }", 'servr: unknown key (did you mean "server"?)'],
    [
      "a wrongly cased target key",
      "targets: [{ name: a, url: 'ws://localhost:1', tokenfile: t }]",
      'targets[0].tokenfile: unknown key (did you mean "tokenFile"?)',
    ],
    [
      "an inline token",
      "targets: [{ name: a, url: 'ws://localhost:1', token: abc }]",
      'targets[0].token: unknown key (did you mean "tokenFile" or "tokenEnv"?)',
    ],
    [
      "a key with a missing unit",
      "observer: { idleUnsubscribe: 5 }",
      'observer.idleUnsubscribe: unknown key (did you mean "idleUnsubscribeMs"?)',
    ],
    ["an unknown key without a close match", "observer: { colour: blue }", "observer.colour: unknown key"],
    [
      "an unknown key in one alert rule kind",
      "alerts: { rules: [{ id: b, kind: dailySpend, scope: team, thresholdUSD: 5 }] }",
      'alerts.rules[0].thresholdUsd: is required\nconfig error in fleet.yaml: alerts.rules[0].thresholdUSD: unknown key (did you mean "thresholdUsd"?)',
    ],
    [
      "a port given as a string",
      "server: { port: '8080' }",
      "server.port: must be an integer between 0 and 65535",
    ],
    ["a port out of range", "server: { port: 70000 }", "server.port: must be an integer between 0 and 65535"],
    ["a negative duration", "observer: { connectTimeoutMs: -5 }", "observer.connectTimeoutMs: must be > 0"],
    [
      "a plan-limit poll under 10 s",
      "observer: { rateLimitPollMs: 5000 }",
      "observer.rateLimitPollMs: must be 0 (read once at connect) or at least 10000",
    ],
    [
      "a fractional plan-limit poll",
      "observer: { rateLimitPollMs: 10000.5 }",
      "observer.rateLimitPollMs: must be an integer",
    ],
    [
      "a fractional duration",
      "observer: { pingIntervalMs: 1.5 }",
      "observer.pingIntervalMs: must be an integer",
    ],
    [
      "a duration given as text",
      "observer: { pingIntervalMs: 30s }",
      "observer.pingIntervalMs: must be a number, got string",
    ],
    [
      "backoff bounds in the wrong order",
      "observer: { minBackoffMs: 5000, maxBackoffMs: 1000 }",
      "observer.maxBackoffMs: must be >= minBackoffMs (5000)",
    ],
    ["targets given as a mapping", "targets: { alice: {} }", "targets: must be a list, got object"],
    ["a target without url", "targets: [{ name: alice }]", "targets[0].url: is required"],
    ["a section given as a list", "server: [1]", "server: must be an object (a mapping), got a list"],
    [
      "a target name with a space",
      "targets: [{ name: al ice, url: 'ws://localhost:1' }]",
      "targets[0].name: must be 1-100 letters, digits, '.', '_' or '-'",
    ],
    [
      "a duplicate target name",
      `targets: [${t0}, ${t0}]`,
      'targets[1].name: duplicate target name "alice" (first used by targets[0].name)',
    ],
    [
      "both tokenFile and tokenEnv",
      "targets: [{ name: a, url: 'ws://localhost:1', tokenFile: f, tokenEnv: E }]",
      "targets[0].tokenEnv: set at most one of tokenFile and tokenEnv",
    ],
    [
      "a bad tokenEnv name",
      "targets: [{ name: a, url: 'ws://localhost:1', tokenEnv: 'MY-TOKEN' }]",
      "targets[0].tokenEnv: must be an environment variable name",
    ],
    [
      "a caFile on ws://",
      "targets: [{ name: a, url: 'ws://localhost:1', caFile: ca.pem }]",
      "targets[0].caFile: only applies to wss:// URLs",
    ],
    [
      "a label value that is a number",
      "targets: [{ name: a, url: 'ws://localhost:1', labels: { site: 1 } }]",
      "targets[0].labels.site: must be a string, got number",
    ],
    [
      "an odd label key",
      "targets: [{ name: a, url: 'ws://localhost:1', labels: { 'my site': 1 } }]",
      'targets[0].labels["my site"]: must be a string, got number',
    ],
    [
      "an unknown log level",
      "logLevel: loud",
      'logLevel: must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent"',
    ],
    [
      "a non-Postgres database url",
      "database: { url: 'mysql://h/db' }",
      "database.url: must be a postgres:// or postgresql:// URL",
    ],
    [
      "a non-HTTP publicUrl",
      "server: { publicUrl: 'ftp://x' }",
      "server.publicUrl: must be an http:// or https:// URL",
    ],
    [
      "an impossible override date",
      "pricing: { overrides: [{ model: m, effectiveFrom: 2026-02-30, inputUsdPerMTok: 1, cachedInputUsdPerMTok: 1, outputUsdPerMTok: 1 }] }",
      "pricing.overrides[0].effectiveFrom: must be a date YYYY-MM-DD",
    ],
    [
      "a negative override price",
      "pricing: { overrides: [{ model: m, effectiveFrom: 2026-02-01, inputUsdPerMTok: -1, cachedInputUsdPerMTok: 1, outputUsdPerMTok: 1 }] }",
      "pricing.overrides[0].inputUsdPerMTok: must be >= 0",
    ],
    [
      "two overrides for one model and day",
      "pricing: { overrides: [{ model: gpt-5.5, effectiveFrom: 2026-10-01, inputUsdPerMTok: 1, cachedInputUsdPerMTok: 1, outputUsdPerMTok: 1 }, { model: GPT-5.5, effectiveFrom: 2026-10-01, inputUsdPerMTok: 2, cachedInputUsdPerMTok: 2, outputUsdPerMTok: 2 }] }",
      "pricing.overrides[1].effectiveFrom: duplicate override for GPT-5.5 from 2026-10-01 (first: pricing.overrides[0])",
    ],
    [
      "an override without output price",
      "pricing: { overrides: [{ model: m, effectiveFrom: 2026-02-01, inputUsdPerMTok: 1, cachedInputUsdPerMTok: 1 }] }",
      "pricing.overrides[0].outputUsdPerMTok: is required",
    ],
    [
      "an unknown alert rule kind",
      "alerts: { rules: [{ id: x, kind: cpuHigh }] }",
      `alerts.rules[0].kind: must be one of ${RULE_KINDS}`,
    ],
    [
      "an alert rule without kind",
      "alerts: { rules: [{ id: x }] }",
      `alerts.rules[0].kind: is required, one of ${RULE_KINDS}`,
    ],
    [
      "an unknown notifier type",
      "alerts: { notify: [{ type: pigeon, url: 'https://x' }] }",
      'alerts.notify[0].type: must be one of "webhook", "slack", "pagerduty", "opsgenie", "teams", "email", "alertmanager"',
    ],
    [
      "a duplicate alert rule id",
      "alerts: { rules: [{ id: x, kind: systemError }, { id: x, kind: turnFailed }] }",
      'alerts.rules[1].id: duplicate rule id "x" (first used by alerts.rules[0].id)',
    ],
    [
      "a token over ws:// to a remote host",
      "targets: [{ name: a, url: 'ws://10.0.0.5:4500', tokenEnv: T }]",
      "targets[0].url: refusing to send a bearer token over plain ws:// to non-loopback host 10.0.0.5: use wss:// or set allowInsecure: true",
    ],
    [
      "a token over ws:// to a remote name",
      "targets: [{ name: a, url: 'ws://dev.example.com:4500', tokenFile: t }]",
      "targets[0].url: refusing to send a bearer token over plain ws:// to non-loopback host dev.example.com: use wss:// or set allowInsecure: true",
    ],
    ["a top-level list", "- a\n- b\n", "must be an object (a mapping), got a list"],
    [
      "a duplicate YAML key",
      "server: {}\nserver: {}\n",
      "invalid YAML: Map keys must be unique at line 2, column 1",
    ],
  ])("does report %s", async (_name, text, expected) => {
    const dir = await scratch({ "fleet.yaml": text });
    const message = await errorOf(
      loadConfig({ argv: ["--config", "fleet.yaml"], env: { T: "x" }, cwd: dir }),
    );
    expect(message).toBe(`config error in fleet.yaml: ${expected}`);
  });

  it("does report every bad key, one line each", async () => {
    const text = "servr: {}\ntargets: [{ name: a, url: 'http://x' }]\nlogLevel: 3\n";
    const dir = await scratch({ "fleet.yaml": text });
    const message = await errorOf(loadConfig({ argv: ["--config", "fleet.yaml"], env: {}, cwd: dir }));
    expect(message.split("\n").sort()).toEqual(
      [
        'config error in fleet.yaml: servr: unknown key (did you mean "server"?)',
        "config error in fleet.yaml: targets[0].url: must be a ws:// or wss:// URL",
        'config error in fleet.yaml: logLevel: must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent"',
      ].sort(),
    );
  });

  it("does name the JSON file and say the JSON is invalid", async () => {
    const dir = await scratch({ "fleet.json": '{ "server": { port: 1 } }' });
    const message = await errorOf(loadConfig({ argv: ["--config", "fleet.json"], env: {}, cwd: dir }));
    expect(message).toMatch(/^config error in fleet\.json: invalid JSON: \S/);
  });

  it("does name the file as given when it cannot be read", async () => {
    const dir = await scratch();
    const message = await errorOf(
      loadConfig({ argv: [], env: { CODEX_FLEET_CONFIG: "nope.yaml" }, cwd: dir }),
    );
    expect(message).toBe(`config error in nope.yaml: cannot read ${join(dir, "nope.yaml")} (ENOENT)`);
  });

  it.each([
    [
      "--config without a file",
      ["--config"],
      {},
      "config error in command line: --config: needs a file name",
    ],
    [
      "--config followed by a flag",
      ["--config", "--verbose"],
      {},
      "config error in command line: --config: needs a file name",
    ],
    [
      "a non-numeric PORT",
      [],
      { PORT: "http" },
      "config error in environment: PORT: must be an integer between 0 and 65535",
    ],
    [
      "an out-of-range PORT",
      [],
      { PORT: "65536" },
      "config error in environment: PORT: must be an integer between 0 and 65535",
    ],
    [
      "a PORT in exponent notation",
      [],
      { PORT: "1e3" },
      "config error in environment: PORT: must be an integer between 0 and 65535",
    ],
    [
      "a non-Postgres DATABASE_URL",
      [],
      { DATABASE_URL: "mysql://h/db" },
      "config error in environment: DATABASE_URL: must be a postgres:// or postgresql:// URL",
    ],
  ])("does report %s", async (_name, argv, env, expected) => {
    const cwd = await scratch();
    expect(await errorOf(loadConfig({ argv, env, cwd }))).toBe(expected);
  });
});
