import { describe, expect, it } from "vitest";
import { type AckAuth, ackIdentity } from "../../../src/alerts/state-machine.ts";
import type { AckIdentity } from "../../../src/alerts/types.ts";

describe("ackIdentity: who an acknowledgement is recorded for", () => {
  it.each<[string, AckAuth | null | undefined, string | undefined, AckIdentity | null]>([
    [
      "a static-token session is named by its role",
      { role: "viewer", via: "session" },
      undefined,
      { name: "viewer", role: "viewer" },
    ],
    [
      "a bearer client is named by its role",
      { role: "admin", via: "bearer" },
      undefined,
      { name: "admin", role: "admin" },
    ],
    [
      "signed in, a free-text name is ignored",
      { role: "viewer", via: "session" },
      "mallory",
      { name: "viewer", role: "viewer" },
    ],
    [
      "a sign-in that carries a name (e.g. OIDC) uses it",
      { role: "admin", via: "session", name: " Dana Ops " },
      "x",
      { name: "Dana Ops", role: "admin" },
    ],
    [
      "a blank name falls back to the role",
      { role: "admin", via: "session", name: "  " },
      undefined,
      { name: "admin", role: "admin" },
    ],
    [
      "auth off: the free-text name, no role",
      { role: "admin", via: "none" },
      "dana",
      { name: "dana", role: null },
    ],
    ["auth off without a name: refused", { role: "admin", via: "none" }, undefined, null],
    ["no auth hook at all counts as auth off", undefined, "dana", { name: "dana", role: null }],
    ["no auth hook and no name: refused", null, undefined, null],
  ])("%s", (_name, auth, by, want) => {
    expect(ackIdentity(auth, by)).toEqual(want);
  });
});
