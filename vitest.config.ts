import { defineConfig } from "vitest/config";

// One run over every workspace; each package may refine its own settings (the dashboard uses jsdom).
export default defineConfig({
  test: {
    projects: ["packages/*", "apps/*", "tools"],
  },
});
