# syntax=docker/dockerfile:1
#
# The lifeboat image the Helm chart (deploy/helm/lifeboat) runs.
#
#   docker build -t ghcr.io/lifeboat-backup/lifeboat:dev --build-arg VERSION=dev .
#
# Runtime contents: lifeboat, pg_dump / pg_dumpall / pg_restore (PostgreSQL 15 client from
# Debian bookworm), the OpenBao server binary `bao` (only `lifeboat drill vault` runs it, as
# a throwaway raft server on 127.0.0.1), CA certificates, and a non-root user (65532).
#
# Not built in this repository's CI (there is no container engine there);
# test/helm/dockerfile_test.go checks this file's structure instead.

ARG GO_VERSION=1.26
ARG OPENBAO_VERSION=2.4.0

# --- build ----------------------------------------------------------------------------
FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY internal ./internal
ARG VERSION=dev
# Static binary: the runtime stage has no Go toolchain and needs no libc match.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/lifeboat ./cmd/lifeboat

# --- the OpenBao binary for vault drills ----------------------------------------------
FROM quay.io/openbao/openbao:${OPENBAO_VERSION} AS openbao

# --- runtime --------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime
# pg_dump's major version must be at least the PostgreSQL server's (lifeboat refuses with
# a clear message otherwise). Bookworm ships 15. For a 16 or 17 server, add the PGDG
# repository and its client; Debian's pg_wrapper (/usr/bin/pg_dump) then runs the NEWEST
# installed client, which dumps every older server too:
#
#   RUN apt-get update && apt-get install -y --no-install-recommends curl gnupg \
#    && install -d /usr/share/postgresql-common/pgdg \
#    && curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc \
#         https://www.postgresql.org/media/keys/ACCC4CF8.asc \
#    && echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt bookworm-pgdg main" \
#         > /etc/apt/sources.list.d/pgdg.list \
#    && apt-get update && apt-get install -y --no-install-recommends postgresql-client-17 \
#    && apt-get purge -y curl gnupg && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*
#
# (or set sources[].postgres.binDir: /usr/lib/postgresql/17/bin to pin one version).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates postgresql-client-15 tzdata \
 && rm -rf /var/lib/apt/lists/*

# A fixed numeric uid/gid so that runAsNonRoot can verify it and fsGroup can match it.
RUN groupadd --system --gid 65532 lifeboat \
 && useradd --system --uid 65532 --gid 65532 --home-dir /var/lib/lifeboat --no-create-home \
      --shell /usr/sbin/nologin lifeboat \
 && install -d -o 65532 -g 65532 -m 0750 /var/lib/lifeboat /etc/lifeboat

COPY --from=build /out/lifeboat /usr/local/bin/lifeboat
COPY --from=openbao /bin/bao /usr/local/bin/bao

USER 65532:65532
WORKDIR /var/lib/lifeboat
ENV LIFEBOAT_CONFIG=/etc/lifeboat/lifeboat.yaml \
    LIFEBOAT_LOG_FORMAT=json
ENTRYPOINT ["/usr/local/bin/lifeboat"]
CMD ["--help"]
