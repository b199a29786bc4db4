# syntax=docker/dockerfile:1
# oasis-alma-rto: one image for `rto worker` (the default command) and `rto http` (docker-compose.yml).
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# Build: compile TypeScript to dist/, prebuild the workflow bundle (dist/workflow-bundle.js), drop dev packages.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY config ./config
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Runtime: compiled code only. Without src/, bin/rto.js runs dist/ (no TypeScript at run time), and workers
# load the prebuilt bundle instead of bundling the workflows at start.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    RTO_DATA_DIR=/data
WORKDIR /app
# Owned by root, read-only for the app; only the data folder is writable (a fresh named volume copies its owner).
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/config ./config
COPY deploy/worker-healthcheck.js ./deploy/worker-healthcheck.js
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
CMD ["node", "bin/rto.js", "worker"]
