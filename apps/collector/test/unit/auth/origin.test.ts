import { describe, expect, it } from "vitest";
import { hostAllowed, originAllowed } from "../../../src/auth/origin.ts";

const policy = { publicOrigin: "https://fleet.example.com", allowed: ["http://localhost:5173"] };

describe("originAllowed", () => {
  it.each([
    ["http://10.0.0.5:8080", "10.0.0.5:8080", true],
    ["https://10.0.0.5:8080", "10.0.0.5:8080", true],
    ["http://fleet", "fleet:80", true],
    ["http://FLEET:8080", "fleet:8080", true],
    ["https://fleet.example.com", "127.0.0.1:8080", true],
    ["http://localhost:5173", "127.0.0.1:8080", true],
    ["http://evil.example", "fleet:8080", false],
    ["http://fleet:8081", "fleet:8080", false],
    ["https://fleet.example.com.evil.example", "fleet:8080", false],
    ["null", "fleet:8080", false],
    ["file://", "fleet:8080", false],
    ["http://fleet:8080", undefined, false],
  ])("does judge Origin %s with Host %s → %s", (origin, host, allowed) => {
    expect(originAllowed(origin, host, policy)).toBe(allowed);
  });
});

describe("hostAllowed (DNS rebinding)", () => {
  const policy = { names: ["fleet.example.com", ".corp.example"] };
  it.each([
    [undefined, true],
    ["127.0.0.1:8080", true],
    ["[::1]:8080", true],
    ["10.0.0.5", true],
    ["localhost:8080", true],
    ["dash.localhost", true],
    ["fleet.example.com", true],
    ["FLEET.EXAMPLE.COM.:443", true],
    ["corp.example", true],
    ["a.corp.example:8080", true],
    ["rebind.attacker.example:8080", false],
    ["fleet.example.com.attacker.example", false],
    ["evilcorp.example", false],
    ["bad host", false],
  ])("does answer %s → %s", (host, allowed) => {
    expect(hostAllowed(host, policy)).toBe(allowed);
  });
});
