import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../src/logger.ts";

function sink(tty: boolean) {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, stream: Object.assign(stream, { isTTY: tty }) };
}

describe("createLogger", () => {
  it("writes one JSON object a line when the destination is not a terminal (auto)", () => {
    const { lines, stream } = sink(false);
    createLogger({ level: "info", destination: stream }).info({ target: "alice" }, "connected");
    const parsed = JSON.parse(lines.join("")) as Record<string, unknown>;
    expect(parsed).toMatchObject({ level: 30, target: "alice", msg: "connected" });
  });

  it("writes readable lines on a terminal (auto), and JSON there when asked", () => {
    const tty = sink(true);
    createLogger({ level: "info", destination: tty.stream }).warn({ target: "alice" }, "target down");
    // Colours on a terminal: compare the text without the escape sequences.
    const text = tty.lines.join("").replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g"), "");
    expect(text).toMatch(/WARN/);
    expect(text).toMatch(/target down/);
    expect(text).toMatch(/"target":"alice"/);
    expect(text.trimStart().startsWith("{")).toBe(false);

    const json = sink(true);
    createLogger({ level: "info", format: "json", destination: json.stream }).info("x");
    expect(JSON.parse(json.lines.join("")).msg).toBe("x");
  });

  it("redacts secrets in either format", () => {
    for (const format of ["json", "pretty"] as const) {
      const { lines, stream } = sink(false);
      createLogger({ level: "info", format, destination: stream }).info(
        { token: "s3cret-token", headers: { authorization: "Bearer s3cret-bearer" } },
        "request",
      );
      const text = lines.join("");
      expect(text).toContain("[redacted]");
      expect(text).not.toContain("s3cret");
    }
  });
});
