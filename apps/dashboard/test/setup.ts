/** Test environment: DOM cleanup, browser APIs jsdom lacks, fresh URL and storage per test. */
import { cleanup } from "@testing-library/react";
import { afterEach, beforeEach, vi } from "vitest";
import { FakeWebSocket } from "./fake-websocket.ts";
import "./dom-matchers.ts";

// recharts' `responsive` charts observe their container's size.
class ResizeObserverStub {
  observe() {}
  unobserve() {}
  disconnect() {}
}
vi.stubGlobal("ResizeObserver", ResizeObserverStub);

beforeEach(() => {
  FakeWebSocket.reset();
  window.localStorage.clear();
  window.history.replaceState(null, "", "/");
  window.scrollTo = () => {};
  URL.createObjectURL = vi.fn(() => "blob:export");
  URL.revokeObjectURL = vi.fn();
});

afterEach(() => {
  cleanup();
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.stubGlobal("ResizeObserver", ResizeObserverStub);
});
