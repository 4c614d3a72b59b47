/**
 * The email receiver against a real SMTP server (npm smtp-server) on 127.0.0.1:0 with AUTH; each
 * received message is parsed with mailparser and checked: subject, recipients, a text body naming
 * every member with its link, an HTML body, the threading header. SMTP 4xx is retryable, 5xx not.
 */
import type { AddressInfo } from "node:net";
import { type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createEmailNotifier, emailMessage, escapeHtml, smtpFailure } from "../src/alerts/notifiers/email.ts";
import { createTestNotification } from "../src/alerts/notifiers/test-notification.ts";
import { Secret } from "../src/config/secret.ts";
import { T0 } from "./support/alert-fixtures.ts";
import { BASE_URL, groupNotification, member, resolvedGroup } from "./support/group-fixtures.ts";

const USER = "fleet-mailer";
const PASSWORD = "smtp-pa55word-xyz";

interface Received {
  from: string | undefined;
  rcpt: string[];
  mail: ParsedMail;
}

let server: SMTPServer;
let port: number;
const received: Received[] = [];
/** SMTP errors for the next RCPT TO commands, in order. */
const rcptErrors: { code: number; message: string }[] = [];

beforeAll(async () => {
  server = new SMTPServer({
    secure: false,
    disabledCommands: ["STARTTLS"],
    authMethods: ["PLAIN", "LOGIN"],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === USER && auth.password === PASSWORD) callback(null, { user: USER });
      else callback(Object.assign(new Error("Invalid username or password"), { responseCode: 535 }));
    },
    onRcptTo(_address, _session, callback) {
      const err = rcptErrors.shift();
      if (err) callback(Object.assign(new Error(err.message), { responseCode: err.code }));
      else callback();
    },
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (mail) => {
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
            rcpt: session.envelope.rcptTo.map((r) => r.address),
            mail,
          });
          callback();
        },
        (err: Error) => callback(err),
      );
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  received.length = 0;
  rcptErrors.length = 0;
});

const email = (password = PASSWORD, to = ["oncall@example.com", "lead@example.com"]) =>
  createEmailNotifier({
    name: "mail",
    host: "127.0.0.1",
    port,
    secure: false,
    starttls: "off",
    user: USER,
    password: new Secret(password),
    from: "fleet@example.com",
    to,
    timeoutMs: 5000,
  });

describe("email receiver", () => {
  it("does send one message per group: subject = title, text and HTML list every member with its link", async () => {
    const n = groupNotification();
    expect(await email().send(n)).toMatchObject({ ok: true, status: 250, error: null });
    expect(received).toHaveLength(1);
    const [{ mail, rcpt, from } = {} as Received] = received;
    expect(from).toBe("fleet@example.com");
    expect(rcpt).toEqual(["oncall@example.com", "lead@example.com"]);
    expect(mail.subject).toBe("[FIRING:2] approval-wait team=payments");
    const to = Array.isArray(mail.to) ? mail.to : [mail.to];
    expect(to.flatMap((a) => a?.value.map((v) => v.address))).toEqual([
      "oncall@example.com",
      "lead@example.com",
    ]);
    for (const m of n.members) {
      expect(mail.text).toContain(m.alert.summary);
      expect(mail.text).toContain(m.dashboardUrl);
      expect(mail.html).toContain(`href="${m.dashboardUrl}"`);
    }
    expect(mail.text).toContain("[NEW] warning");
    expect(mail.text).toContain("[RESOLVED] warning");
    expect(mail.headers.get("x-codex-fleet-delivery")).toBe("n-1");
  });

  it("does thread a group's messages together (same References, distinct Message-IDs)", async () => {
    await email().send(groupNotification());
    await email().send(resolvedGroup());
    const [a, b] = received.map((r) => r.mail);
    expect(a?.references).toBeDefined();
    expect(a?.references).toEqual(b?.references);
    expect(a?.messageId).not.toBe(b?.messageId);
    expect(b?.subject).toBe("[RESOLVED:3] approval-wait team=payments");
  });

  it("does escape member text in the HTML body", async () => {
    const n = groupNotification({ members: [member("new", { summary: "<script>alert(1)</script> & co" })] });
    await email().send(n);
    expect(received[0]?.mail.html).toContain("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co");
    expect(received[0]?.mail.html).not.toContain("<script>");
    expect(escapeHtml(`"'`)).toBe("&quot;&#39;");
  });

  it("does mark a test message in the subject", async () => {
    await email().send(createTestNotification("mail", T0, BASE_URL));
    expect(received[0]?.mail.subject).toMatch(/^\[TEST\] /);
  });

  it("does retry on a transient SMTP reply (4xx)", async () => {
    rcptErrors.push({ code: 451, message: "Try again later" });
    const result = await email(PASSWORD, ["oncall@example.com"]).send(groupNotification());
    expect(result).toMatchObject({ ok: false, status: 451, retryable: true });
    expect(result.error).toMatch(/^SMTP 451/);
  });

  it("does not retry on a permanent SMTP reply (5xx)", async () => {
    rcptErrors.push({ code: 550, message: "No such user here" });
    const result = await email(PASSWORD, ["oncall@example.com"]).send(groupNotification());
    expect(result).toMatchObject({ ok: false, status: 550, retryable: false });
    expect(result.error).toContain("No such user here");
    expect(received).toHaveLength(0);
  });

  it("does report a refused recipient as failed for good when the others received it (no duplicate retry)", async () => {
    rcptErrors.push({ code: 450, message: "Mailbox busy" });
    const result = await email().send(groupNotification());
    expect(result).toMatchObject({ ok: false, status: 450, retryable: false });
    expect(result.error).toContain("refused 1 of 2 recipients");
    expect(received.map((r) => r.rcpt)).toEqual([["lead@example.com"]]);
  });

  it("does not retry a refused login (535) and never puts the password in the error", async () => {
    const result = await email("wrong-password-123").send(groupNotification());
    expect(result).toMatchObject({ ok: false, status: 535, retryable: false });
    expect(result.error).not.toContain("wrong-password-123");
    expect(received).toHaveLength(0);
  });

  it("does retry when the server is not there (connection refused)", async () => {
    const result = await createEmailNotifier({
      name: "m",
      host: "127.0.0.1",
      port: 1,
      secure: false,
      starttls: "off",
      user: null,
      password: null,
      from: "fleet@example.com",
      to: ["oncall@example.com"],
      timeoutMs: 2000,
    }).send(groupNotification());
    expect(result).toMatchObject({ ok: false, status: null, retryable: true });
    expect(result.error).toBe("ECONNREFUSED");
  });

  it("does refuse, for good, a server that resolves to a link-local address", async () => {
    const result = await createEmailNotifier({
      name: "m",
      host: "mail.internal.test",
      port: 25,
      secure: false,
      starttls: "off",
      user: null,
      password: null,
      from: "fleet@example.com",
      to: ["oncall@example.com"],
      timeoutMs: 2000,
      resolver: async () => [{ address: "169.254.169.254", family: 4 }],
    }).send(groupNotification());
    expect(result).toMatchObject({ ok: false, status: null, retryable: false });
    expect(result.error).toContain("refusing to connect to mail.internal.test");
  });

  it("does refuse to send without STARTTLS when it is required", async () => {
    const result = await createEmailNotifier({
      name: "m",
      host: "127.0.0.1",
      port,
      secure: false,
      starttls: "required",
      user: USER,
      password: new Secret(PASSWORD),
      from: "fleet@example.com",
      to: ["oncall@example.com"],
      timeoutMs: 2000,
    }).send(groupNotification());
    expect(result.ok).toBe(false);
    expect(received).toHaveLength(0);
  });
});

describe("smtp classification", () => {
  it.each<[string, unknown, { status: number | null; retryable: boolean }]>([
    [
      "421 service not available",
      { responseCode: 421, response: "421 busy" },
      { status: 421, retryable: true },
    ],
    [
      "452 insufficient storage",
      { responseCode: 452, response: "452 full" },
      { status: 452, retryable: true },
    ],
    ["554 transaction failed", { responseCode: 554, response: "554 no" }, { status: 554, retryable: false }],
    ["a timeout", { code: "ETIMEDOUT" }, { status: null, retryable: true }],
    ["a dropped connection", { code: "ECONNECTION" }, { status: null, retryable: true }],
    ["a bad envelope", { code: "EENVELOPE" }, { status: null, retryable: false }],
    [
      "an untrusted certificate",
      { code: "ESOCKET", originalCode: "SELF_SIGNED_CERT_IN_CHAIN" },
      { status: null, retryable: false },
    ],
    [
      "a reset connection",
      { code: "ESOCKET", originalCode: "ECONNRESET" },
      { status: null, retryable: true },
    ],
  ])("does classify %s", (_name, err, want) => {
    expect(smtpFailure(err, 1, false)).toMatchObject(want);
  });

  it("does list only the shown members' links in the text of a truncated group and say how many more", () => {
    const { text } = emailMessage(groupNotification({ truncated: 7 }));
    expect(text).toContain("and 7 more");
  });
});
