# syntax=docker/dockerfile:1.7
# Multi-stage: dependencies are installed with the full toolchain, the runtime image carries only
# the production dependency tree and the sources (run by tsx: no build step, no dist to drift).

FROM node:20-bookworm-slim AS deps
WORKDIR /app
RUN npm i -g pnpm@10
COPY pnpm-workspace.yaml pnpm-lock.yaml package.json ./
COPY gateway/package.json gateway/
COPY providers/package.json providers/
COPY policies/package.json policies/
COPY console/package.json console/
COPY test/package.json test/
# Only the gateway and what it depends on, production dependencies only.
RUN pnpm install --frozen-lockfile --prod --filter @watchllm/gateway...

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
