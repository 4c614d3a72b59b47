/** Identifiers shaped like codex's: UUIDv7 thread/turn/item ids, `msg_…` and `call_…` model item ids. */
import type { Prng } from "./prng.ts";

const hex = (n: number, width: number): string => n.toString(16).padStart(width, "0");

/** Random lowercase hex of `length` characters. */
export function randomHex(prng: Prng, length: number): string {
  let out = "";
  while (out.length < length) out += hex(Math.floor(prng.next() * 0x1_0000_0000), 8);
  return out.slice(0, length);
}

/** A UUIDv7 (48-bit ms timestamp, version 7, variant 10) like codex's thread and turn ids. */
export function uuidv7(atMs: number, prng: Prng): string {
  const ts = hex(Math.max(0, Math.floor(atMs)), 12).slice(-12);
  const rand = randomHex(prng, 20);
  const variant = ((Number.parseInt(rand.slice(3, 4), 16) & 0x3) | 0x8).toString(16);
  return `${ts.slice(0, 8)}-${ts.slice(8, 12)}-7${rand.slice(0, 3)}-${variant}${rand.slice(4, 7)}-${rand.slice(7, 19)}`;
}

/** An assistant message item id as the Responses API assigns it. */
export const messageItemId = (prng: Prng): string => `msg_${randomHex(prng, 48)}`;

/** A function-call item id (the command execution item carries the call id). */
export const callItemId = (prng: Prng): string => `call_${randomHex(prng, 24)}`;
