# syntax=docker/dockerfile:1
# Gatehouse container image (docs/operations/containers.md).
#   docker build -t gatehouse .
#   docker run --rm --read-only --tmpfs /tmp -p 127.0.0.1:8080:8080 \
#     -v "$PWD/gatehouse.yaml:/etc/gatehouse/gatehouse.yaml:ro" -v gatehouse-data:/var/lib/gatehouse gatehouse
# The builder stage compiles the TypeScript and the native modules; the final stage holds only
# the compiled code and the production dependencies, owned by root and run as an unprivileged user.

FROM node:24-trixie-slim AS build
# A C/C++ toolchain and Python, used only when better-sqlite3 or argon2 has no prebuilt binary for
# the platform (they are built from source then); none of it reaches the final image.
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the package's own `prepare` (tsc) needs the sources, copied below; the native
# modules' install scripts are run explicitly.
RUN npm ci --no-audit --no-fund --ignore-scripts && npm rebuild better-sqlite3 argon2
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-trixie-slim
ENV NODE_ENV=production
WORKDIR /app
# Everything under /app belongs to root and is read-only for the process.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY bin ./bin
COPY examples ./examples
# the developer portal's and the admin console's browser files, served as they are
COPY web ./web
# The only place the process writes: the identity provider's SQLite file and its key file, when
# the config uses SQLite (PostgreSQL needs no volume). /tmp is expected to be a tmpfs.
RUN mkdir -p /etc/gatehouse /var/lib/gatehouse && chown 1000:1000 /var/lib/gatehouse && chmod 0700 /var/lib/gatehouse
VOLUME ["/var/lib/gatehouse"]
# uid 1000 is the image's `node` user; numeric, so Kubernetes' runAsNonRoot can check it.
USER 1000:1000
# gateway (gateway.listen.http) and admin listener (gateway.admin.listen) of deploy/compose/gatehouse.yaml
EXPOSE 8080 9090
# SIGTERM drains in-flight requests for up to gateway.shutdown-timeout, then exits 0.
STOPSIGNAL SIGTERM
# The admin listener's /healthz (slim images have no curl: node's fetch, bounded by a timeout).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9090/healthz',{signal:AbortSignal.timeout(3000)}).then((r)=>process.exit(r.status===200?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "/app/bin/gatehouse.js"]
CMD ["start", "--config", "/etc/gatehouse/gatehouse.yaml"]
