import { describe, expect, it } from "vitest";
import { SessionStore } from "../../../src/auth/sessions.ts";

describe("SessionStore", () => {
  it("does find a session by its id until it expires, then never again", () => {
    let now = 0;
    const store = new SessionStore({ ttlMs: 1000, now: () => now });
    const { id, session } = store.create("viewer");
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session).toEqual({ role: "viewer", createdAtMs: 0, expiresAtMs: 1000 });
    now = 999;
    expect(store.get(id)?.role).toBe("viewer");
    now = 1000;
    expect(store.get(id)).toBeNull();
    expect(store.size).toBe(0);
  });

  it.each([
    ["unknown", "A".repeat(43)],
    ["malformed", "not a session"],
    ["empty", ""],
  ])("does answer null for an %s id", (_, id) => {
    const store = new SessionStore({ ttlMs: 1000 });
    store.create("admin");
    expect(store.get(id)).toBeNull();
  });

  it("does end a session on delete and drop the oldest beyond maxSessions", () => {
    const store = new SessionStore({ ttlMs: 1000, maxSessions: 2, now: () => 0 });
    const a = store.create("admin");
    const b = store.create("viewer");
    store.delete(b.id);
    expect(store.get(b.id)).toBeNull();
    const c = store.create("viewer");
    const d = store.create("viewer"); // a is the oldest
    expect([store.get(a.id), store.get(c.id)?.role, store.get(d.id)?.role]).toEqual([
      null,
      "viewer",
      "viewer",
    ]);
  });

  it("does keep only a hash of the id", () => {
    const store = new SessionStore({ ttlMs: 1000 });
    const { id } = store.create("admin");
    const keys = [...(store as unknown as { sessions: Map<string, unknown> }).sessions.keys()];
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toBe(id);
  });
});
