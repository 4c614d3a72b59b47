/**
 * E-mail over SMTP (nodemailer): one message per group notification — subject = the group's title,
 * a text and an HTML body listing the members with links. Messages of one group share a
 * `References` id, so mail clients thread a group's firing, repeats and resolution together.
 *
 * Retries follow the SMTP reply class: 4yz is transient (retryable), 5yz permanent (RFC 5321);
 * without a reply (connection refused, timeout, TLS failure) the attempt is retryable. The
 * connection goes through the same destination policy as HTTP receivers (net/destination.ts).
 */
import { createHash } from "node:crypto";
import { connect } from "node:net";
import { createTransport } from "nodemailer";
import type { Secret } from "../../config/secret.ts";
import { guardedLookup, type Resolver } from "../../net/destination.ts";
import { changeLabel, clip, countsText, memberText } from "./format.ts";
import type { GroupNotification } from "./group-payload.ts";
import { redactResult } from "./http.ts";
import type { Notifier, SendResult } from "./types.ts";

const MAX_ERROR = 200;
/** Errors raised before or instead of a server reply that another attempt would meet again. */
const PERMANENT_CODES = new Set(["EDESTINATION", "EENVELOPE", "EMESSAGE", "ECONFIG", "EAUTH", "EREQUIRETLS"]);

/** Node's TLS verification failures (certificate chain, expiry, host name). */
const CERTIFICATE_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ALTNAME/;

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** The subject, text and HTML of the message for `n`. */
export function emailMessage(n: GroupNotification): { subject: string; text: string; html: string } {
  const subject = clip(`${n.title}`, 250);
  const more = n.truncated;
  const text = [
    subject,
    countsText(n),
    "",
    ...n.members.flatMap((m) => [memberText(m), `  ${m.dashboardUrl}`]),
    ...(more > 0 ? [`and ${more} more`] : []),
    "",
    `Open the group in codex-fleet: ${n.dashboardUrl}`,
  ].join("\n");
  const rows = n.members
    .map((m) => {
      const a = m.alert;
      return (
        `<tr><td><strong>${changeLabel(m.change)}</strong></td><td>${escapeHtml(a.severity)}</td>` +
        `<td><a href="${escapeHtml(m.dashboardUrl)}">${escapeHtml(a.summary)}</a></td>` +
        `<td>${escapeHtml(a.target ?? "")}</td><td>${escapeHtml(a.team ?? "")}</td></tr>`
      );
    })
    .join("\n");
  const html = [
    "<!doctype html>",
    `<html><body><h2>${escapeHtml(subject)}</h2>`,
    `<p>${escapeHtml(countsText(n))} · severity ${escapeHtml(n.severity)}</p>`,
    `<table cellpadding="4"><tr><th></th><th>severity</th><th>alert</th><th>target</th><th>team</th></tr>\n${rows}</table>`,
    more > 0 ? `<p>and ${more} more</p>` : "",
    `<p><a href="${escapeHtml(n.dashboardUrl)}">Open the group in codex-fleet</a></p>`,
    "</body></html>",
  ].join("\n");
  return { subject, text, html };
}

/** The SendResult of a failed send, classified by the SMTP reply code (or error code). */
export function smtpFailure(err: unknown, durationMs: number, aborted: boolean): SendResult {
  const e = (err ?? {}) as {
    code?: unknown;
    originalCode?: unknown;
    responseCode?: unknown;
    response?: unknown;
    message?: unknown;
  };
  // nodemailer replaces a socket error's code with its stage (ESOCKET) and keeps Node's as originalCode.
  const original = typeof e.originalCode === "string" ? e.originalCode : null;
  const responseCode = typeof e.responseCode === "number" ? e.responseCode : null;
  const code = typeof e.code === "string" ? e.code : null;
  let error: string;
  let retryable: boolean;
  if (aborted) {
    error = "aborted";
    retryable = false;
  } else if (responseCode !== null) {
    const reply = typeof e.response === "string" ? e.response.trim() : "";
    error = clip(
      reply.startsWith(String(responseCode))
        ? `SMTP ${reply}`
        : `SMTP ${responseCode}${reply ? `: ${reply}` : ""}`,
      MAX_ERROR,
    );
    retryable = responseCode >= 400 && responseCode < 500;
  } else if (original !== null && CERTIFICATE_ERROR.test(original)) {
    // An untrusted or mismatched certificate stays so until the config changes (caFile, host).
    error = `TLS certificate not accepted (${original})`;
    retryable = false;
  } else if (code === "EDESTINATION" && typeof e.message === "string") {
    error = e.message;
    retryable = false;
  } else {
    error = code === "ETIMEDOUT" ? "timeout" : (code ?? "send failed");
    retryable = code === null || !PERMANENT_CODES.has(code);
  }
  return { ok: false, status: responseCode, error, retryable, retryAfterMs: null, durationMs };
}

export interface EmailOptions {
  name: string;
  host: string;
  port: number;
  secure: boolean;
  starttls: "required" | "opportunistic" | "off";
  user: string | null;
  password: Secret | null;
  from: string;
  to: readonly string[];
  /** PEM CA(s) the server's certificate must chain to, instead of the system's (a private CA). */
  ca?: string | null;
  /** Per connection step (connect, greeting, each command). */
  timeoutMs: number;
  allowLinkLocal?: boolean;
  resolver?: Resolver;
}

/** A short, stable id of `text` for Message-ID style headers. */
function messageId(text: string): string {
  return `<${createHash("sha256").update(text).digest("hex").slice(0, 32)}@codex-fleet>`;
}

/** An SMTP notifier (one attempt per `send`: one connection, one message). */
export function createEmailNotifier(opts: EmailOptions): Notifier {
  const policy = { allowLinkLocal: opts.allowLinkLocal ?? false };
  const transport = createTransport({
    host: opts.host,
    port: opts.port,
    secure: opts.secure,
    requireTLS: !opts.secure && opts.starttls === "required",
    ignoreTLS: !opts.secure && opts.starttls === "off",
    ...(opts.ca ? { tls: { ca: opts.ca } } : {}),
    auth:
      opts.user !== null && opts.password !== null
        ? { user: opts.user, pass: opts.password.reveal() }
        : undefined,
    connectionTimeout: opts.timeoutMs,
    greetingTimeout: opts.timeoutMs,
    socketTimeout: opts.timeoutMs,
    logger: false,
    // Connect through the destination policy: the address checked is the address dialled.
    getSocket(_options, callback) {
      const socket = connect({
        host: opts.host,
        port: opts.port,
        lookup: guardedLookup(policy, opts.resolver),
      });
      const timer = setTimeout(() => {
        const err: NodeJS.ErrnoException = new Error("connect timeout");
        err.code = "ETIMEDOUT";
        socket.destroy(err);
      }, opts.timeoutMs);
      socket.once("error", (err) => {
        clearTimeout(timer);
        callback(err);
      });
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        callback(null, { connection: socket });
      });
    },
  });
  const secrets = opts.password === null ? [] : [opts.password.reveal()];
  return {
    name: opts.name,
    type: "email",
    async send(n: GroupNotification, signal?: AbortSignal): Promise<SendResult> {
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      const message = emailMessage(n);
      try {
        const info = await transport.sendMail({
          from: { name: "codex-fleet", address: opts.from },
          to: [...opts.to],
          subject: message.subject,
          text: message.text,
          html: message.html,
          messageId: messageId(`${n.receiver}\n${n.id}`),
          references: messageId(`${n.receiver}\n${n.groupKey}`),
          headers: { "X-Codex-Fleet-Delivery": n.id, "X-Codex-Fleet-Event": n.status },
          signal,
        });
        const code = Number(/^\d{3}/.exec(String(info.response ?? ""))?.[0] ?? 250);
        const rejected = (info.rejected ?? []).length;
        if (rejected > 0) {
          // Some recipients have it: a retry would send it to them again. Report it as failed for
          // good so the delivery log shows the bad address.
          const first = (info as { rejectedErrors?: { responseCode?: number; response?: string }[] })
            .rejectedErrors?.[0];
          const failure = smtpFailure(first ?? {}, elapsed(), false);
          return redactResult(
            {
              ...failure,
              error: clip(
                `${failure.error} (refused ${rejected} of ${opts.to.length} recipients; the others received it)`,
                MAX_ERROR,
              ),
              retryable: false,
            },
            secrets,
          );
        }
        return {
          ok: true,
          status: code,
          error: null,
          retryable: false,
          retryAfterMs: null,
          durationMs: elapsed(),
        };
      } catch (err) {
        return redactResult(smtpFailure(err, elapsed(), signal?.aborted ?? false), secrets);
      }
    },
  };
}
