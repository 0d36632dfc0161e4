# syntax=docker/dockerfile:1.7
# Edge agent for buoy gateways (./reefguard edge-agent --config PATH), kept small: slim
# base, production dependencies only, no DuckDB, and onnxruntime-node's binaries for the
# target architecture only.
#
# Multi-arch: gateways are mostly ARM64 (Raspberry Pi 4/5 class, Jetson) with some x86-64
# boxes. Build both with buildx; every stage runs natively per platform (pnpm fetches the
# matching @duckdb / onnxruntime binaries), so no emulated compiling is needed beyond QEMU
# for the RUN steps:
#   docker buildx build --platform linux/arm64,linux/amd64 \
#     -f infra/docker/edge-agent.Dockerfile -t reefguard/edge-agent:TAG --push .
# 32-bit ARM (armv7) has no onnxruntime-node binary: such gateways run the agent with the
# onnxruntime-web WASM backend (REEFGUARD_MODEL_BACKEND=web), same results to 1e-5.
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
RUN node_modules/.bin/tsc -b \
  && pnpm install --frozen-lockfile --prod --offline --reporter=append-only
# Edge needs neither DuckDB (the offline store is in the cloud) nor other platforms' ONNX
# Runtime binaries; dropping them is most of the image's size.
ARG TARGETARCH
RUN rm -rf node_modules/.pnpm/@duckdb+node-bindings* \
  && find node_modules/.pnpm -path '*onnxruntime-node/bin/napi-v*/*' -maxdepth 7 -type d \
       \( -name darwin -o -name win32 \) -prune -exec rm -rf {} + \
  && arch=$([ "$TARGETARCH" = arm64 ] && echo x64 || echo arm64) \
  && find node_modules/.pnpm -path "*onnxruntime-node/bin/napi-v*/linux/$arch" -type d -prune -exec rm -rf {} +

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
# The store-and-forward queue must outlive the container: mount a volume here.
VOLUME ["/var/lib/reefguard"]
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["./reefguard"]
CMD ["edge-agent", "--config", "/etc/reefguard/edge-agent.json"]
