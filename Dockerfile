# syntax=docker/dockerfile:1
#
# The lifeboat image the Helm chart (deploy/helm/lifeboat) runs.
#
#   docker build -t ghcr.io/lifeboat-backup/lifeboat:dev --build-arg VERSION=dev .
#
# Runtime contents: lifeboat, pg_dump / pg_dumpall / pg_restore / psql (the PostgreSQL 17
# client from the PGDG apt repository: it dumps servers of every supported major, 13 to
# 17), the OpenBao server binary `bao` (only `lifeboat drill vault` runs it, as a throwaway
# raft server on 127.0.0.1), CA certificates, and a non-root user (65532).
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
# a clear message otherwise), and bookworm only ships 15 while current servers (e.g. the
# Bitnami chart's default) run 17. So the client is PGDG's newest major, which dumps every
# older server too. The chart points workflows.metadataDatabase.binDir at PG_MAJOR's bin
# directory; when PGDG ships a newer major, bump PG_MAJOR and that default together.
# The repository key is PGDG's published signing key (fingerprint B97B 0AFC AA1A 47F0
# 44F2 44A0 7FCC 7D46 ACCC 4CF8), verified before apt trusts it.
ARG PG_MAJOR=17
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl gnupg tzdata \
 && install -d /usr/share/postgresql-common/pgdg \
 && curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc \
      https://www.postgresql.org/media/keys/ACCC4CF8.asc \
 && gpg --show-keys --with-colons /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc \
      | grep -qx 'fpr:::::::::B97B0AFCAA1A47F044F244A07FCC7D46ACCC4CF8:' \
 && echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt bookworm-pgdg main" \
      > /etc/apt/sources.list.d/pgdg.list \
 && apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client-${PG_MAJOR} \
 && /usr/lib/postgresql/${PG_MAJOR}/bin/pg_dump --version \
 && apt-get purge -y --auto-remove curl gnupg \
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
# Where the chart mounts its ConfigMap (deploy/helm/lifeboat, lifeboat.configPath).
ENV LIFEBOAT_CONFIG=/etc/lifeboat/config/lifeboat.yaml \
    LIFEBOAT_LOG_FORMAT=json
ENTRYPOINT ["/usr/local/bin/lifeboat"]
CMD ["--help"]
