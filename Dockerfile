# syntax=docker/dockerfile:1.7
#
# Gadai: ONE image holding all four service binaries and the built web dashboard; the command
# picks the service:
#
#   docker build -t gadai:local .
#   docker run --rm -p 2027:2027 --env-file compose/.env gadai:local order-intake serve
#   docker run --rm --env-file compose/.env gadai:local expiry-sweeper migrate
#
# Why one image and not one per service: the services share one event contract and must be
# released together, so one build, one tag, one vulnerability scan and one pull per node fit
# better than four; the binaries share their dependencies' code, so four images would each
# carry most of the same bytes. compose/ and k8s/ set the command per service.
#
# Stages: `web` (Node) builds web_dashboard/dist; `chef` -> `planner` -> `builder` (Rust)
# compile the release binaries, with the dependencies built in their own cached layer by
# cargo-chef (a change to our code does not rebuild the ~400 crates underneath); `runtime` is
# debian slim with a non-root user. Debian slim rather than distroless because the container
# must be able to check its own health (Docker HEALTHCHECK, compose `depends_on:
# service_healthy`): the check is a bash script talking HTTP over /dev/tcp, so no curl or extra
# package is installed. Kubernetes does not use it (its probes are httpGet, see k8s/).

ARG RUST_VERSION=1.95.0
ARG NODE_VERSION=24.15.0
ARG DEBIAN_RELEASE=bookworm
ARG CARGO_CHEF_VERSION=0.1.78

############################################################################################
# Web dashboard (React + Vite) -> /out/dist
############################################################################################
FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim AS web
WORKDIR /src/web_dashboard
# The manifests first, so `npm ci` is cached until the dependencies change. The globs let the
# build go on (with an empty dist) while web_dashboard/ has no package.json yet.
COPY web_dashboard/package.jso[n] web_dashboard/package-lock.jso[n] ./
RUN --mount=type=cache,target=/root/.npm \
    if [ -f package-lock.json ]; then \
        npm ci --no-audit --no-fund; \
    elif [ -f package.json ]; then \
        echo "web: no package-lock.json, falling back to npm install" >&2; \
        npm install --no-audit --no-fund; \
    fi
COPY web_dashboard/ ./
RUN mkdir -p /out/dist \
    && if [ -f package.json ]; then \
        npm run build && cp -R dist/. /out/dist/; \
    else \
        echo "web: web_dashboard/package.json not present, the image serves no web app" >&2; \
    fi

############################################################################################
# Rust: cargo-chef computes a recipe of the dependency graph, cooks it, then builds our code
############################################################################################
FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS chef
ARG CARGO_CHEF_VERSION
RUN cargo install cargo-chef --locked --version "${CARGO_CHEF_VERSION}"
WORKDIR /src

# The whole context (see .dockerignore): every workspace member must be present for cargo to
# load the workspace, wherever new members appear. The recipe only changes with the manifests.
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
# Symbol names stay (readable panics and backtraces), the DWARF line tables the workspace
# profile keeps for local debugging go: about 18 MB per binary instead of about 90 MB.
ENV CARGO_PROFILE_RELEASE_STRIP=debuginfo \
    CARGO_TERM_COLOR=never
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json \
        -p order-intake -p dashboard-api -p verification-mailer -p expiry-sweeper -p knowledge-seed
COPY . .
RUN cargo build --release --locked \
        -p order-intake -p dashboard-api -p verification-mailer -p expiry-sweeper \
        -p knowledge-seed --bins \
    && mkdir -p /out/bin \
    && for bin in order-intake dashboard-api verification-mailer expiry-sweeper knowledge-seed; do \
        cp "target/release/${bin}" /out/bin/; \
    done

############################################################################################
# Runtime: debian slim, non-root, read-only friendly (writes only under /app/var and /tmp)
############################################################################################
FROM debian:${DEBIAN_RELEASE}-slim AS runtime
ARG GADAI_UID=10001
LABEL org.opencontainers.image.title="gadai" \
      org.opencontainers.image.description="Gadai services: order-intake, dashboard-api, verification-mailer, expiry-sweeper" \
      org.opencontainers.image.licenses="MIT"
RUN groupadd --system --gid "${GADAI_UID}" gadai \
    && useradd --system --uid "${GADAI_UID}" --gid gadai --home-dir /app \
        --no-create-home --shell /usr/sbin/nologin gadai \
    && mkdir -p /app/var/mail \
    && chown -R gadai:gadai /app/var
# CA roots for TLS to NATS or SMTP servers that use them (copied, so no apt in this stage).
COPY --from=builder /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=builder /out/bin/ /usr/local/bin/
COPY --from=web /out/dist/ /app/web/
# The knowledge base the knowledge-seed one-shot embeds into Qdrant.
COPY compose/knowledge/ /app/knowledge/
# gadai-healthcheck [PATH]: GET PATH (default /healthz) on the port of the service this
# container runs, found from PID 1's command line (also behind an init such as tini or
# docker-init) and that service's *_PORT variable. Exit 0 on HTTP 200, 1 otherwise.
COPY --chmod=0755 <<'EOF' /usr/local/bin/gadai-healthcheck
#!/bin/bash
set -uo pipefail
path="${1:-/healthz}"
port=""
while IFS= read -r -d '' arg; do
    case "${arg##*/}" in
        dashboard-api) port="${DASHBOARD_API_PORT:-2026}" ;;
        order-intake) port="${ORDER_INTAKE_PORT:-2027}" ;;
        verification-mailer) port="${VERIFICATION_MAILER_PORT:-2028}" ;;
        expiry-sweeper) port="${EXPIRY_SWEEPER_PORT:-2029}" ;;
        *) continue ;;
    esac
    break
done < /proc/1/cmdline
if [[ -z "$port" ]]; then
    echo "gadai-healthcheck: PID 1 is not a Gadai service" >&2
    exit 1
fi
if ! exec 3<>"/dev/tcp/127.0.0.1/${port}"; then
    echo "gadai-healthcheck: nothing listens on port ${port}" >&2
    exit 1
fi
printf 'GET %s HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$path" >&3
status=""
IFS= read -r -t 3 status <&3 || true
exec 3<&-
case "$status" in
    "HTTP/1."?" 200"*) exit 0 ;;
esac
echo "gadai-healthcheck: GET ${path} on port ${port}: ${status:-no answer}" >&2
exit 1
EOF

# (The blank line above keeps hadolint 2.x's parser happy after a heredoc.)
ENV HTTP_HOST=0.0.0.0 \
    WEB_DIST_DIR=/app/web \
    MAIL_DIR=/app/var/mail \
    LOG_FORMAT=json \
    RUST_LOG=info
WORKDIR /app
USER ${GADAI_UID}:${GADAI_UID}
# dashboard-api, order-intake, verification-mailer, expiry-sweeper (health and metrics).
EXPOSE 2026 2027 2028 2029
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/usr/local/bin/gadai-healthcheck", "/healthz"]
# The seed's single app served the dashboard on 2026: that is the default. Every other use
# names the binary: `order-intake serve`, `expiry-sweeper migrate`, `dashboard-api rebuild`.
CMD ["dashboard-api", "serve"]
