# The collector with the built dashboard. `docker compose up` runs it beside Postgres.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json turbo.json tsconfig.base.json ./
COPY scripts ./scripts
COPY prisma ./prisma
COPY prisma.config.ts ./
COPY apps ./apps
COPY packages ./packages
RUN npm ci --no-audit --no-fund && npm run build -w @codex-fleet/dashboard
ENV NODE_ENV=production
EXPOSE 8080
# HOST=0.0.0.0 inside the container; publish the port only where the dashboard should be reachable.
ENV HOST=0.0.0.0
CMD ["npm", "run", "start", "-w", "@codex-fleet/collector", "--", "--config", "/etc/codex-fleet/fleet.yaml"]
