/** An error's message for a log line (never its stack: logs are for operators, one line each). */
export function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
