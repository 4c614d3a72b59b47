/** The logger every module takes: Fastify's pino logger (structured, leveled, with child loggers). */
import type { FastifyBaseLogger } from "fastify";
import { pino } from "pino";

export type Logger = FastifyBaseLogger;

/** Paths that must never reach a log line, whatever object is logged. */
const REDACT = [
  "token",
  "*.token",
  "headers.authorization",
  "req.headers.authorization",
  "secret",
  "*.secret",
];

/** A pino logger at `level`; `destination` lets tests capture the output. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const opts = { level, redact: { paths: REDACT, censor: "[redacted]" } };
  return (destination ? pino(opts, destination) : pino(opts)) as unknown as Logger;
}
