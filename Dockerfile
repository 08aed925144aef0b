# syntax=docker/dockerfile:1.7
# Multi-stage: dependencies are installed with the full toolchain, the runtime image carries only
# the production dependency tree, the sources (run by tsx: no dist to drift) and the built console.

# The workspace's manifests and pnpm: what both install stages start from.
FROM node:20-bookworm-slim AS workspace
WORKDIR /app
RUN npm i -g pnpm@10
COPY pnpm-workspace.yaml pnpm-lock.yaml package.json ./
COPY gateway/package.json gateway/
COPY providers/package.json providers/
COPY policies/package.json policies/
COPY console/package.json console/
COPY test/package.json test/

FROM workspace AS deps
# Only the gateway and what it depends on, production dependencies only.
RUN pnpm install --frozen-lockfile --prod --filter @watchllm/gateway...

# The console (SvelteKit, adapter-node) is the one part that is built: vite bundles it into
# console/build, which the gateway serves under /console. Build tools stay in this stage.
FROM workspace AS console
RUN pnpm install --frozen-lockfile --filter @watchllm/console
COPY console console
RUN pnpm --filter @watchllm/console build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8787 \
    WATCHLLM_DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app /app
COPY gateway/src gateway/src
COPY providers/src providers/src
COPY policies/src policies/src
# the console's server modules the gateway imports (its context), and the built console
COPY console/src console/src
COPY --from=console /app/console/build console/build
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8787
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8787)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# node itself is PID 1 (tsx as a loader, not its CLI, which would run the gateway in a child
# process): SIGTERM reaches the gateway, which drains in-flight streams and exits.
# tsx resolves from the gateway package's own node_modules.
WORKDIR /app/gateway
CMD ["node", "--import", "tsx", "src/main.ts"]
