import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "collector",
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // Real app-server scenarios take seconds each; unit tests stay fast regardless.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
