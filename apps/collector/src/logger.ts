/** The logger every module takes: Fastify's pino logger (structured, leveled, with child loggers). */
import type { FastifyBaseLogger } from "fastify";
import { pino } from "pino";
import pretty from "pino-pretty";
import type { LOG_FORMATS } from "./config/schema.ts";

export type Logger = FastifyBaseLogger;

/** Whether `log` writes debug lines: guard debug logging on hot paths (its arguments cost even when off). */
export function debugEnabled(log: Logger): boolean {
  return log.level === "debug" || log.level === "trace";
}

/** Paths that must never reach a log line, whatever object is logged. */
const REDACT = [
  "token",
  "*.token",
  "headers.authorization",
  "req.headers.authorization",
  "secret",
  "*.secret",
];

export interface LoggerOptions {
  level: string;
  /** `auto` (default): readable lines when `destination` is a terminal, JSON lines otherwise. */
  format?: (typeof LOG_FORMATS)[number];
  /** Default: stdout. Tests pass a sink to capture the JSON lines. */
  destination?: NodeJS.WritableStream;
}

/** A pino logger; redaction applies in either format (it runs before formatting). */
export function createLogger({ level, format = "auto", destination }: LoggerOptions): Logger {
  const opts = { level, redact: { paths: REDACT, censor: "[redacted]" } };
  const out = destination ?? process.stdout;
  const tty = (out as { isTTY?: boolean }).isTTY === true;
  if (format === "pretty" || (format === "auto" && tty)) {
    const stream = pretty({
      destination: out,
      colorize: tty,
      translateTime: "SYS:HH:MM:ss.l",
      ignore: "pid,hostname",
      singleLine: true,
      sync: true,
    });
    return pino(opts, stream) as unknown as Logger;
  }
  return (destination ? pino(opts, destination) : pino(opts)) as unknown as Logger;
}
