# syntax=docker/dockerfile:1.7
# Stream processor: readings and satellite products into DuckDB and Redis features
# (./reefguard stream-processor). Several replicas share one JetStream durable consumer.
#   docker build -f infra/docker/stream-processor.Dockerfile -t reefguard/stream-processor .
ARG NODE_VERSION=20.20.2
ARG PNPM_VERSION=10.34.9

# --- build: the whole workspace, compiled once ------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS build
ARG PNPM_VERSION
WORKDIR /app
# onnxruntime-node's installer would fetch optional GPU files; its CPU binaries ship inside.
ENV ONNXRUNTIME_NODE_INSTALL=skip CI=true
RUN npm install -g --no-fund --no-audit pnpm@${PNPM_VERSION}
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml tsconfig.base.json tsconfig.json ./
COPY core/package.json core/
COPY edge-agent/package.json edge-agent/
COPY stream-processor/package.json stream-processor/
COPY serving/package.json serving/
COPY report/package.json report/
COPY test/package.json test/
RUN pnpm install --frozen-lockfile --reporter=append-only
COPY reefguard ./
COPY core core
COPY edge-agent edge-agent
COPY stream-processor stream-processor
COPY serving serving
# The site catalogue (gbr_environmental.parquet) is read at start.
COPY data/sample data/sample
RUN node_modules/.bin/tsc -b \
  && pnpm install --frozen-lockfile --prod --offline --reporter=append-only

# --- runtime --------------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production REEFGUARD_STATE_DIR=/var/lib/reefguard
WORKDIR /app
RUN groupadd --gid 10001 reefguard \
  && useradd --uid 10001 --gid reefguard --no-create-home --shell /usr/sbin/nologin reefguard \
  && mkdir -p /var/lib/reefguard && chown reefguard:reefguard /var/lib/reefguard
COPY --from=build /app /app
RUN touch core/dist/.build-stamp
USER 10001:10001
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/metrics').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["./reefguard"]
CMD ["stream-processor", "--source", "jetstream", "--metrics-port", "9464"]
