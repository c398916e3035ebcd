# Sluice container image: `docker compose up` builds it from this repo.
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY pipeline pipeline
COPY processors processors
COPY exporters exporters
COPY approvals approvals
COPY sdk sdk
COPY config config
COPY cli cli
# npm install, not npm ci: see .ci/run (chdb engines for other platforms are absent from the lock).
RUN npm install --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app /app
ENV NODE_ENV=production
EXPOSE 4317 4318 4380 8123 13133
ENTRYPOINT ["node", "dist/cli/sluice.js"]
CMD ["start", "--config", "config/sluice.yaml"]
