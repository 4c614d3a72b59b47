/**
 * The email receiver over TLS against real SMTP servers (npm smtp-server) with a certificate made
 * for the test (openssl): STARTTLS (the default, `starttls: required`) and implicit TLS
 * (`secure: true`), trusting the server through `caFile`; an untrusted certificate is refused for
 * good (no retry, nothing sent in clear text).
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createNotifiers } from "../src/alerts/notifiers/create.ts";
import { createEmailNotifier, type EmailOptions } from "../src/alerts/notifiers/email.ts";
import { loadFile, removeScratchDirs } from "./support/config-files.ts";
import { groupNotification } from "./support/group-fixtures.ts";

const USER = "fleet-mailer";
const PASSWORD = "tls-pa55word-abc";

let dir: string;
let cert: string;
let key: string;
const servers: SMTPServer[] = [];
const received: { secure: boolean; subject: string | undefined }[] = [];

async function startSmtp(secure: boolean): Promise<number> {
  const server = new SMTPServer({
    secure,
    key,
    cert,
    authMethods: ["PLAIN"],
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === USER && auth.password === PASSWORD) callback(null, { user: USER });
      else callback(Object.assign(new Error("Invalid username or password"), { responseCode: 535 }));
    },
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (mail) => {
          received.push({ secure: session.secure, subject: mail.subject });
          callback();
        },
        (err: Error) => callback(err),
      );
    },
  });
  // A client that refuses the certificate drops the connection mid-handshake: expected here.
  server.on("error", () => {});
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.server.address() as AddressInfo).port;
}

let starttlsPort: number;
let implicitPort: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fleet-smtp-tls-"));
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem"),
      "-days",
      "2",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ],
    { stdio: "ignore" },
  );
  [cert, key] = await Promise.all([
    readFile(join(dir, "cert.pem"), "utf8"),
    readFile(join(dir, "key.pem"), "utf8"),
  ]);
  [starttlsPort, implicitPort] = await Promise.all([startSmtp(false), startSmtp(true)]);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  if (dir) await rm(dir, { recursive: true, force: true });
  await removeScratchDirs();
});
beforeEach(() => {
  received.length = 0;
});

const email = (patch: Partial<EmailOptions>) =>
  createEmailNotifier({
    name: "mail",
    host: "127.0.0.1",
    port: starttlsPort,
    secure: false,
    starttls: "required",
    user: USER,
    password: null,
    from: "fleet@example.com",
    to: ["oncall@example.com"],
    ca: cert,
    timeoutMs: 5000,
    ...patch,
  });

describe("email receiver over TLS", () => {
  it("does upgrade with STARTTLS (the default) and log in over the encrypted connection", async () => {
    const { config } = await loadFile(
      [
        "alerts:",
        "  notify:",
        `    - { name: mail, type: email, host: 127.0.0.1, port: ${starttlsPort}, user: ${USER}, passwordEnv: SMTP_PW, from: fleet@example.com, to: [oncall@example.com], caFile: ca.pem }`,
      ].join("\n"),
      { env: { SMTP_PW: PASSWORD }, files: { "ca.pem": cert } },
    );
    expect(config.alerts.notify[0]).toMatchObject({
      starttls: "required",
      ca: expect.stringContaining("BEGIN CERTIFICATE"),
    });
    const [configured] = createNotifiers(config.alerts.notify);
    expect(await configured?.notifier.send(groupNotification())).toMatchObject({ ok: true, status: 250 });
    expect(received).toEqual([{ secure: true, subject: "[FIRING:2] approval-wait team=payments" }]);
  });

  it("does speak TLS from the first byte with secure: true", async () => {
    const { Secret } = await import("../src/config/secret.ts");
    const result = await email({ port: implicitPort, secure: true, password: new Secret(PASSWORD) }).send(
      groupNotification(),
    );
    expect(result).toMatchObject({ ok: true, status: 250 });
    expect(received).toEqual([{ secure: true, subject: "[FIRING:2] approval-wait team=payments" }]);
  });

  it("does refuse, for good, a server whose certificate it cannot verify, sending nothing", async () => {
    const result = await email({ ca: null }).send(groupNotification());
    expect(result).toMatchObject({ ok: false, status: null, retryable: false });
    expect(result.error).toBe("TLS certificate not accepted (DEPTH_ZERO_SELF_SIGNED_CERT)");
    expect(received).toHaveLength(0);
  });
});

describe("loadConfig: email caFile", () => {
  it("does name a caFile that is not a PEM certificate", async () => {
    const { errorOf } = await import("./support/config-files.ts");
    const message = await errorOf(
      loadFile(
        "alerts: { notify: [{ type: email, host: smtp.example.com, from: a@example.com, to: [b@example.com], caFile: ca.pem }] }",
        { files: { "ca.pem": "not a certificate" } },
      ),
    );
    expect(message).toMatch(/alerts\.notify\[0\]\.caFile: .*ca\.pem is not a PEM certificate/);
  });
});
