/** The receiver config (alerts.notify[]): each type's keys, defaults, secrets from the environment, errors naming the key. */
import { afterAll, describe, expect, it } from "vitest";
import { createNotifiers, notifierName } from "../../../src/alerts/notifiers/create.ts";
import { errorOf, loadFile, removeScratchDirs } from "../../support/config-files.ts";

afterAll(removeScratchDirs);

const notify = (...entries: string[]) => `alerts:\n  notify:\n${entries.map((e) => `    - ${e}`).join("\n")}`;

describe("loadConfig: receivers", () => {
  it("does read every receiver type with its defaults and its secret from the environment", async () => {
    const { config } = await loadFile(
      notify(
        "{ name: pd, type: pagerduty, routingKeyEnv: PD_KEY }",
        "{ name: og, type: opsgenie, apiKeyEnv: OG_KEY, url: 'https://api.eu.opsgenie.com', tags: [fleet] }",
        "{ name: chat, type: teams, url: 'https://prod.westeurope.logic.azure.com/workflows/x/invoke?sig=abc' }",
        "{ name: mail, type: email, host: smtp.example.com, user: fleet, passwordEnv: SMTP_PASSWORD, from: fleet@example.com, to: [oncall@example.com] }",
        "{ name: am, type: alertmanager, url: 'http://alertmanager:9093', firingEndsAfterMs: 7200000 }",
      ),
      { env: { PD_KEY: "pd-routing-key", OG_KEY: "og-api-key", SMTP_PASSWORD: "smtp-password" } },
    );
    const [pd, og, teams, mail, am] = config.alerts.notify;
    expect(pd).toMatchObject({
      type: "pagerduty",
      url: "https://events.pagerduty.com/v2/enqueue",
      source: "codex-fleet",
    });
    expect(pd?.secret?.reveal()).toBe("pd-routing-key");
    expect(og).toMatchObject({ url: "https://api.eu.opsgenie.com", tags: ["fleet"] });
    expect(og?.secret?.reveal()).toBe("og-api-key");
    expect(teams?.secret).toBeNull();
    expect(mail).toMatchObject({
      host: "smtp.example.com",
      secure: false,
      starttls: "required",
      to: ["oncall@example.com"],
    });
    expect(mail?.secret?.reveal()).toBe("smtp-password");
    expect(am).toMatchObject({ firingEndsAfterMs: 7_200_000, maxAttempts: 6, timeoutMs: 10_000 });
    expect(createNotifiers(config.alerts.notify).map((n) => [n.notifier.name, n.notifier.type])).toEqual([
      ["pd", "pagerduty"],
      ["og", "opsgenie"],
      ["chat", "teams"],
      ["mail", "email"],
      ["am", "alertmanager"],
    ]);
    // Secrets stay redacted however the config is printed.
    expect(JSON.stringify(config)).not.toMatch(/pd-routing-key|og-api-key|smtp-password/);
  });

  it("does allow an unencrypted SMTP login to a relay on this host", async () => {
    const { config } = await loadFile(
      notify(
        "{ type: email, host: 127.0.0.1, port: 25, starttls: off, user: u, passwordEnv: P, from: a@example.com, to: [b@example.com] }",
      ),
      { env: { P: "pw" } },
    );
    expect(config.alerts.notify[0]).toMatchObject({ starttls: "off", host: "127.0.0.1" });
  });

  it("does name an email receiver without a name by its server and recipients, not a URL", async () => {
    const { config } = await loadFile(
      notify(
        "{ type: email, host: smtp.example.com, port: 25, starttls: off, from: a@example.com, to: [b@example.com] }",
      ),
    );
    const [mail] = config.alerts.notify;
    if (!mail) throw new Error("no receiver");
    expect(notifierName(mail)).toMatch(/^email-[0-9a-f]{8}$/);
  });

  it.each([
    [
      "an unset routing key variable (named, never its value)",
      "{ type: pagerduty, routingKeyEnv: PD_KEY }",
      "alerts.notify[0].routingKeyEnv: environment variable PD_KEY is unset or empty",
    ],
    ["a pagerduty receiver without routingKeyEnv", "{ type: pagerduty }", "alerts.notify[0].routingKeyEnv:"],
    [
      "an unset Opsgenie key variable",
      "{ type: opsgenie, apiKeyEnv: OG_KEY }",
      "alerts.notify[0].apiKeyEnv: environment variable OG_KEY is unset or empty",
    ],
    [
      "an unset SMTP password variable",
      "{ type: email, host: h.example.com, user: u, passwordEnv: SMTP_PW, from: a@example.com, to: [b@example.com] }",
      "alerts.notify[0].passwordEnv: environment variable SMTP_PW is unset or empty",
    ],
    [
      "an SMTP user without passwordEnv",
      "{ type: email, host: h.example.com, user: u, from: a@example.com, to: [b@example.com] }",
      "alerts.notify[0].passwordEnv: user and passwordEnv go together (SMTP AUTH needs both)",
    ],
    [
      "an email receiver without recipients",
      "{ type: email, host: h.example.com, from: a@example.com, to: [] }",
      "alerts.notify[0].to: must list at least one recipient",
    ],
    [
      "a bad recipient address",
      "{ type: email, host: h.example.com, from: a@example.com, to: [oncall] }",
      "alerts.notify[0].to[0]: must be an e-mail address like oncall@example.com",
    ],
    [
      "an SMTP host with a port in it",
      "{ type: email, host: 'smtp.example.com:25', from: a@example.com, to: [b@example.com] }",
      "alerts.notify[0].host: must be a host name or IP address (no scheme, no port)",
    ],
    [
      "an SMTP password that could go out in clear text to another host",
      "{ type: email, host: smtp.example.com, starttls: opportunistic, user: u, passwordEnv: P, from: a@example.com, to: [b@example.com] }",
      "alerts.notify[0].starttls: refusing to send the SMTP password unencrypted to non-loopback host smtp.example.com: set secure: true or starttls: required",
    ],
    [
      "an SMTP host on a link-local address",
      "{ type: email, host: 169.254.169.254, from: a@example.com, to: [b@example.com] }",
      "alerts.notify[0].host: refusing to connect to 169.254.169.254",
    ],
    ["a teams receiver without url", "{ type: teams }", "alerts.notify[0].url:"],
    [
      "an unknown key on an alertmanager receiver",
      "{ type: alertmanager, url: 'http://am:9093', routingKeyEnv: X }",
      "alerts.notify[0]",
    ],
    [
      "a duplicate receiver name across types",
      "{ name: x, type: teams, url: 'https://t.example.com' }\n    - { name: x, type: alertmanager, url: 'http://am:9093' }",
      'alerts.notify[1].name: duplicate notifier name "x" (first used by alerts.notify[0].name)',
    ],
  ])("does reject %s", async (_name, entry, want) => {
    const message = await errorOf(loadFile(notify(entry)));
    expect(message).toContain(want);
  });

  it("does never print a secret's value in a config error", async () => {
    const message = await errorOf(
      loadFile(notify("{ type: pagerduty, routingKeyEnv: PD_KEY }", "{ type: teams }"), {
        env: { PD_KEY: "pd-value-42" },
      }),
    );
    expect(message).not.toContain("pd-value-42");
  });
});
