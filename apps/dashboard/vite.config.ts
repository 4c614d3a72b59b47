import type { ClientRequest, IncomingMessage } from "node:http";
import react from "@vitejs/plugin-react";
import { defaultClientConditions, defineConfig } from "vite";

/** Dev proxy target: the collector's HTTP API and live feed. */
const collectorUrl = process.env.CODEX_FLEET_COLLECTOR_URL ?? "http://127.0.0.1:8080";

/**
 * The collector refuses changes and the live feed from foreign origins (auth/origin.ts). A page
 * served by this dev server is same-origin with it, so its Origin becomes the collector's, as if
 * the dashboard were served by the collector; any other Origin passes unchanged and is refused.
 */
function sameOriginAsCollector(proxyReq: ClientRequest, req: IncomingMessage): void {
  const origin = req.headers.origin;
  if (origin === undefined || !URL.canParse(origin) || new URL(origin).host !== req.headers.host) return;
  proxyReq.setHeader("origin", new URL(collectorUrl).origin);
}

export default defineConfig({
  plugins: [react()],
  // Bundle @codex-fleet/protocol from its TypeScript (its `source` export), never a stale build.
  resolve: { conditions: ["source", ...defaultClientConditions] },
  server: {
    proxy: {
      "/api": {
        target: collectorUrl,
        ws: true,
        // Host becomes the collector's (it answers only to its own names: server.allowedHosts).
        changeOrigin: true,
        configure: (proxy) => {
          proxy.on("proxyReq", sameOriginAsCollector);
          proxy.on("proxyReqWs", sameOriginAsCollector);
        },
      },
    },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 600,
    rolldownOptions: {
      output: {
        // Vite 8 bundles with rolldown: `codeSplitting.groups` replaces rollup's manualChunks.
        // recharts and its runtime dependencies (redux toolkit, d3 via victory-vendor, …) only serve
        // the lazily loaded chart pages, so they get a chunk of their own.
        codeSplitting: {
          groups: [
            // Higher priority first: a group also takes its dependencies, so react must be claimed
            // before recharts (which imports it) or it would land in the chart chunk.
            { name: "react", test: /node_modules[\\/](react|react-dom|scheduler)[\\/]/, priority: 30 },
            {
              name: "recharts",
              test: /node_modules[\\/](recharts|victory-vendor|d3-[a-z-]+|internmap|@reduxjs|redux|redux-thunk|react-redux|reselect|immer|decimal\.js-light|es-toolkit|eventemitter3|tiny-invariant|clsx|use-sync-external-store)[\\/]/,
              priority: 20,
            },
          ],
        },
      },
    },
  },
});
