# The collector with the built dashboard; `docker compose up` runs it beside Postgres.
# Two stages: `build` installs everything and compiles every workspace (tsc, vite); `runtime`
# holds production dependencies and the compiled output only — no TypeScript, no tsx, no test
# tools — and runs node as PID 1 as the unprivileged `node` user.
# scripts/check-production-install.mjs (run by the tests) rebuilds the runtime stage's file
# layout from the COPY lines below and checks that it starts and answers /readyz.

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund \
 && npx turbo run build --filter=@codex-fleet/collector... --filter=@codex-fleet/dashboard

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080
WORKDIR /app
# Every workspace's package.json (npm ci checks them against the lock); no sources.
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/apps/collector/package.json apps/collector/
COPY --from=build /src/apps/dashboard/package.json apps/dashboard/
COPY --from=build /src/packages/db/package.json packages/db/
COPY --from=build /src/packages/pricing/package.json packages/pricing/
COPY --from=build /src/packages/protocol/package.json packages/protocol/
# Production dependencies only; no install scripts (the Prisma client is compiled into dist/).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/apps/collector/dist apps/collector/dist/
COPY --from=build /src/apps/dashboard/dist apps/dashboard/dist/
COPY --from=build /src/packages/db/dist packages/db/dist/
COPY --from=build /src/packages/pricing/dist packages/pricing/dist/
COPY --from=build /src/packages/protocol/dist packages/protocol/dist/
COPY --from=build /src/prisma/migrations prisma/migrations/
# The embedded database (only without DATABASE_URL) lives under /app/.codex-fleet by default.
RUN mkdir -p /app/.codex-fleet && chown node:node /app/.codex-fleet
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "apps/collector/dist/main.js", "--config", "/etc/codex-fleet/fleet.yaml"]
