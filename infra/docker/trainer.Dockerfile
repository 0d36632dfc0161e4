# syntax=docker/dockerfile:1.7
# Trainer on a CUDA base for the GPU node pool (./reefguard train, ./reefguard tune). The
# CLI launcher is Node, the stages are Python in trainer/.venv, pinned by
# trainer/requirements.lock (PyPI's Linux torch wheel carries its own CUDA libraries; the
# base image supplies the matching runtime and the driver hooks).
#   docker build -f infra/docker/trainer.Dockerfile -t reefguard/trainer .
ARG CUDA_VERSION=12.4.1
ARG NODE_VERSION=20.20.2
ARG PNPM_VERSION=10.34.9

FROM node:${NODE_VERSION}-bookworm-slim AS node

# --- build: the TypeScript CLI (schemas, evaluate) -----------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS build
ARG PNPM_VERSION
WORKDIR /app
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

# --- runtime: CUDA + Python 3.11 + Node ---------------------------------------------
FROM nvidia/cuda:${CUDA_VERSION}-cudnn-runtime-ubuntu22.04
ENV DEBIAN_FRONTEND=noninteractive PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    REEFGUARD_STATE_DIR=/var/lib/reefguard
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3.11 python3.11-venv ca-certificates \
  && rm -rf /var/lib/apt/lists/*
COPY --from=node /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY trainer/requirements.lock trainer/pyproject.toml trainer/
RUN python3.11 -m venv trainer/.venv \
  && trainer/.venv/bin/pip install --disable-pip-version-check -r trainer/requirements.lock
COPY trainer trainer
COPY data/sample data/sample
RUN trainer/.venv/bin/pip install --disable-pip-version-check --no-deps -e trainer
COPY --from=build /app /app
RUN groupadd --gid 10001 reefguard \
  && useradd --uid 10001 --gid reefguard --no-create-home --shell /usr/sbin/nologin reefguard \
  && mkdir -p /var/lib/reefguard && chown reefguard:reefguard /var/lib/reefguard \
  && touch core/dist/.build-stamp
USER 10001:10001
# A batch job, not a server: Kubernetes judges it by exit code, so there is nothing to probe.
HEALTHCHECK NONE
ENTRYPOINT ["./reefguard"]
CMD ["train"]
