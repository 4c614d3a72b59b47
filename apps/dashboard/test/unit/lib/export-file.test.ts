import { describe, expect, it } from "vitest";
import { type ExportColumn, toCsv, toJson } from "../../../src/lib/export-file.ts";

type Row = { name: string; tokens: number; cost: number | null };
const columns: ExportColumn<Row>[] = [
  { header: "name", value: (row) => row.name },
  { header: "tokens", value: (row) => row.tokens },
  { header: "costUsd", value: (row) => row.cost },
];

describe("toCsv", () => {
  it.each([
    { name: "plain", row: { name: "alice", tokens: 1200, cost: 2.5 }, line: "alice,1200,2.5" },
    { name: "a comma", row: { name: "acme, inc", tokens: 1, cost: 0 }, line: '"acme, inc",1,0' },
    { name: "a quote", row: { name: 'say "hi"', tokens: 1, cost: 0 }, line: '"say ""hi""",1,0' },
    { name: "a newline", row: { name: "a\nb", tokens: 1, cost: 0 }, line: '"a\nb",1,0' },
    {
      name: "a null (unpriced) cost",
      row: { name: "mock-model", tokens: 9, cost: null },
      line: "mock-model,9,",
    },
    {
      name: "a formula-looking text",
      row: { name: "=HYPERLINK(1)", tokens: 1, cost: 0 },
      line: "'=HYPERLINK(1),1,0",
    },
    { name: "a leading tab", row: { name: "\t=1+1", tokens: 1, cost: 0 }, line: "'\t=1+1,1,0" },
    {
      name: "a leading carriage return",
      row: { name: "\r=1+1", tokens: 1, cost: 0 },
      line: '"\'\r=1+1",1,0',
    },
  ])("does write one CRLF line per row when a cell has $name", ({ row, line }) => {
    expect(toCsv(columns, [row])).toBe(`name,tokens,costUsd\r\n${line}\r\n`);
  });
});

describe("toJson", () => {
  it("does key each object by the column headers when rows are exported", () => {
    expect(JSON.parse(toJson(columns, [{ name: "bob", tokens: 3, cost: null }]))).toEqual([
      { name: "bob", tokens: 3, costUsd: null },
    ]);
  });
});
