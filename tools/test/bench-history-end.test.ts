import { describe, expect, it } from "vitest";
import { historyEnd } from "../bench/lib/recorder.ts";

describe("historyEnd (the bench's recorded history covers the same weekdays whatever day it runs)", () => {
  it("is the start of the latest Saturday (UTC) at least 15 minutes back", () => {
    const at = (iso: string) => new Date(historyEnd(Date.parse(iso))).toISOString();
    // Every day of one week ends its history at the same Saturday.
    for (const day of ["06", "07", "08", "09", "10", "11"])
      expect(at(`2026-12-${day}T12:00:00Z`)).toBe("2026-12-05T00:00:00.000Z");
    expect(at("2026-12-12T12:00:00Z")).toBe("2026-12-12T00:00:00.000Z");
    // Within 15 minutes of Saturday's start, the week before.
    expect(at("2026-12-12T00:10:00Z")).toBe("2026-12-05T00:00:00.000Z");
    expect(at("2026-12-12T00:15:00Z")).toBe("2026-12-12T00:00:00.000Z");
  });
});
