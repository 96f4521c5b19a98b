# One image for both services; docker-compose picks the entry point.
FROM node:24-slim
ENV PNPM_HOME=/pnpm PATH=/pnpm:$PATH NODE_ENV=production CI=true
RUN npm install -g pnpm@10.34.9
WORKDIR /app
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json .npmrc ./
COPY patches ./patches
COPY packages ./packages
COPY services ./services
COPY tests/package.json ./tests/package.json
COPY bench/package.json ./bench/package.json
COPY drizzle ./drizzle
COPY scripts ./scripts
# Production dependencies of what the image runs (the API, the worker, the CLI and the migrations
# through @calgate/db), nothing else: no compilers, test tools or drizzle-kit. The services run their
# TypeScript directly (Node's type stripping), so there is no build step.
RUN pnpm install --frozen-lockfile --prod \
      --filter '@calgate/api...' --filter '@calgate/worker...' --filter '@calgate/cli...' \
  && pnpm store prune && npm uninstall -g pnpm
USER node
EXPOSE 3000
# Heap limits (see .env.example): a busy service stays under 200 MB resident (set after the
# install steps, which need more).
ENV NODE_OPTIONS="--max-semi-space-size=8 --max-old-space-size=160"
CMD ["node", "services/api/src/main.ts"]
