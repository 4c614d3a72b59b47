import { defineConfig } from "vitest/config";
import { sourceConditions } from "../../vitest.shared.ts";

export default defineConfig({
  ...sourceConditions,
  test: { name: "codex-fakes", include: ["test/**/*.test.ts"] },
});
