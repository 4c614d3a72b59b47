import { defineConfig } from "vitest/config";
import { sourceConditions } from "../../vitest.shared.ts";

export default defineConfig({
  ...sourceConditions,
  test: {
    name: "collector",
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["test/setup/build.ts"],
    // Real app-server scenarios take seconds each; unit tests stay fast regardless.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
