# syntax=docker/dockerfile:1
#
# gatehouse container image.
#
#   docker build -t gatehouse --build-arg SOURCE_URL=https://github.com/<org>/gatehouse .
#   docker run -p 8080:8080 -v gatehouse-data:/data gatehouse   # SQLite in /data, mail to the log
#
# (Add --platform linux/amd64 when building on an ARM machine for Cloud Run.) This file was
# written on a machine without a Docker engine: it has not been built there.
#
# Settings are environment variables (README, "Settings"). The image sets only BIND_ADDR and
# DATABASE_URL. What a public deployment must add:
#   PUBLIC_URL          the https URL users reach gatehouse at (links in mails, the token `iss`).
#                       Unset, it is http://localhost:8080, which counts as "this machine".
#   SMTP_URL            smtp://user:pass@host:587 (STARTTLS) or smtps://user:pass@host:465.
#                       Without it (or MAIL_PROVIDERS), gatehouse refuses to start when PUBLIC_URL
#                       is not localhost/127.0.0.1/::1, since mails would go to the log only;
#                       MAIL_LOG_ONLY=true allows that for a development deployment.
#   KEY_ENCRYPTION_KEY  `openssl rand -base64 32`, from a secret store: seals the signing keys and
#                       server secrets in the database. Once set, the database needs it to start.
#   TRUSTED_PROXIES     the address ranges of your reverse proxy / load balancer.
#   DATABASE_URL        postgres://user:pass@host/db?sslmode=require for several instances.
#   REDIS_URL           redis://host:6379 to share rate limits between instances.
# See docs/deploy.md.

# ---- build -------------------------------------------------------------------------------
FROM rust:1.95-bookworm AS builder
WORKDIR /build

# Dependencies first: this layer is rebuilt only when Cargo.toml or Cargo.lock change. Stub
# targets stand in for the crate (the `bench` example declared in Cargo.toml is not built by
# `cargo build`, so its file is not needed).
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && cargo build --release --locked \
 && rm -rf src target/release/.fingerprint/gatehouse-* target/release/deps/gatehouse-* \
           target/release/deps/libgatehouse-* target/release/gatehouse

# What the crate compiles in: the sources (mail templates and the common-password list live
# under src/), the migrations (`sqlx::migrate!`) and the vendored ReDoc bundle (`include_bytes!`).
COPY src src
COPY migrations migrations
COPY assets assets
# The command CI uses for release builds.
RUN cargo build --release --locked \
 && install -D -m 0755 target/release/gatehouse /out/usr/local/bin/gatehouse \
 && install -d -m 0700 /out/data

# ---- runtime -----------------------------------------------------------------------------
# distroless/cc: glibc, libgcc, CA certificates and tzdata, nothing else — no shell, no package
# manager — which is all this binary needs (SQLite is compiled in, TLS is rustls, the container
# health check is `gatehouse healthcheck`, so no curl). Same Debian 12 glibc as the builder.
# Smaller and less to patch than debian:bookworm-slim; the cost is no shell inside the
# container (run sqlite3/psql from the host or another container).
# :nonroot runs as uid/gid 65532 ("nonroot", HOME=/home/nonroot), which /data belongs to.
FROM gcr.io/distroless/cc-debian12:nonroot

ARG SOURCE_URL=""
LABEL org.opencontainers.image.title="gatehouse" \
      org.opencontainers.image.description="An authentication server: registration, email verification, login, tokens, MFA, password resets." \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="${SOURCE_URL}"

COPY --from=builder /out/usr/local/bin/gatehouse /usr/local/bin/gatehouse
COPY --from=builder --chown=65532:65532 /out/data /data

# BIND_ADDR: listen on every interface inside the container (the default is loopback only).
# DATABASE_URL: an absolute SQLite path is written with three slashes. Override both as needed.
ENV BIND_ADDR=0.0.0.0:8080 \
    DATABASE_URL=sqlite:///data/gatehouse.db

USER 65532:65532
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080

# Exits 0 when GET /health answers 200 (database reachable); reads BIND_ADDR, no curl needed.
HEALTHCHECK --interval=30s --timeout=6s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/gatehouse", "healthcheck"]

# gatehouse stops gracefully on SIGTERM (Docker's and Cloud Run's stop signal).
ENTRYPOINT ["/usr/local/bin/gatehouse"]
CMD ["serve"]
