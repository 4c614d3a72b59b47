/**
 * Settings every workspace's vitest config shares. Workspace packages export `source` (their
 * TypeScript) before `default` (the compiled `dist/`): tests, like `tsc --noEmit`
 * (tsconfig.base.json `customConditions`), run the sources and never a stale build.
 */
import { defaultClientConditions, defaultServerConditions } from "vite";

export const sourceConditions = {
  resolve: { conditions: ["source", ...defaultClientConditions] },
  ssr: { resolve: { conditions: ["source", ...defaultServerConditions] } },
};
