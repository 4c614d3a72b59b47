/**
 * A secret value (a target's bearer token, a notifier's signing secret) that cannot be logged by
 * accident: string conversion, JSON and `util.inspect` all print "[redacted]". Only `.reveal()`
 * returns the value — call it at the single place that puts it on the wire.
 */
const REDACTED = "[redacted]";

/** Wraps a secret string; see the module comment. */
export class Secret {
  // A true private field: not enumerable, not visible to JSON.stringify, structuredClone or inspect.
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The secret itself. Never log what this returns. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  // util.inspect (console.log, pino's fallbacks, vitest diffs) looks this symbol up by name.
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return REDACTED;
  }
}
