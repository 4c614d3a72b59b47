import { defineConfig } from "vitest/config";
import { sourceConditions } from "../vitest.shared.ts";

export default defineConfig({
  ...sourceConditions,
  test: { name: "tools", include: ["test/**/*.test.ts"] },
});
