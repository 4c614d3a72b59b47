import { describe, expect, it } from "vitest";
import {
  codexErrorLabel,
  contextShare,
  targetReasonHint,
  threadDisplayStatus,
} from "../../../src/lib/status.ts";

describe("threadDisplayStatus", () => {
  it.each([
    [{ status: "active", activeFlags: [] }, "active"],
    [{ status: "active", activeFlags: ["waitingOnApproval"] }, "waitingOnApproval"],
    [{ status: "active", activeFlags: ["waitingOnUserInput"] }, "waitingOnUserInput"],
    [{ status: "active", activeFlags: ["waitingOnUserInput", "waitingOnApproval"] }, "waitingOnApproval"],
    [{ status: "systemError", activeFlags: [] }, "systemError"],
    [{ status: "idle", activeFlags: [] }, "idle"],
    [{ status: "notLoaded", activeFlags: [] }, "notLoaded"],
  ] as const)("does map %o to %s", (thread, expected) => {
    expect(threadDisplayStatus({ ...thread, activeFlags: [...thread.activeFlags] })).toBe(expected);
  });
});

describe("codexErrorLabel", () => {
  it.each([
    ["internalServerError", "internalServerError"],
    ['{"responseStreamDisconnected":{"httpStatusCode":502}}', "responseStreamDisconnected (HTTP 502)"],
    ['{"httpConnectionFailed":{"httpStatusCode":null}}', "httpConnectionFailed"],
    ["{broken", "{broken"],
    [null, null],
  ])("does label %s as %s", (info, expected) => {
    expect(codexErrorLabel(info)).toBe(expected);
  });
});

describe("targetReasonHint and contextShare", () => {
  it("does explain known reasons and pass unknown ones through", () => {
    expect(targetReasonHint("unauthorized")?.label).toBe("Unauthorized (401)");
    expect(targetReasonHint("somethingNew")).toEqual({ label: "somethingNew", hint: "" });
    expect(targetReasonHint(null)).toBeNull();
  });

  it.each([
    [129_200, 258_400, 0.5],
    [null, 258_400, null],
    [10, 0, null],
  ])("does compute %s / %s as %s", (tokens, window, expected) => {
    expect(contextShare(tokens, window)).toBe(expected);
  });
});
