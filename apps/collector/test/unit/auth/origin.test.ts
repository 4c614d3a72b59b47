import { describe, expect, it } from "vitest";
import { originAllowed } from "../../../src/auth/origin.ts";

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
