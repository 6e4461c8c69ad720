# syntax=docker/dockerfile:1
#
# The lifeboat image the Helm chart (deploy/helm/lifeboat) runs.
#
#   docker build -t ghcr.io/lifeboat-backup/lifeboat:dev --build-arg VERSION=dev .
#
# Runtime contents: lifeboat, pg_dump / pg_dumpall / pg_restore / psql (the PostgreSQL 17
# client from Debian trixie: it dumps servers of every supported major, 13 to 17), the
# OpenBao server binary `bao` (only `lifeboat drill vault` runs it, as a throwaway raft
# server on 127.0.0.1), CA certificates, time zones, and a non-root user (65532).
#
# Without a container engine, `make image` (scripts/build-image.sh) builds the same image
# as an OCI archive, bin/lifeboat-image.tar: a Debian trixie rootfs made by mmdebstrap with
# the same packages, user and directories, plus lifeboat and bao; push it with
# `skopeo copy oci-archive:bin/lifeboat-image.tar docker://REGISTRY/lifeboat:TAG`. That is
# what the repository's CI builds and tests (it has no container engine);
# test/helm/dockerfile_test.go keeps this file and the script in step.

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
FROM debian:trixie-slim AS runtime
# pg_dump's major version must be at least the PostgreSQL server's (lifeboat refuses with
# a clear message otherwise), and current servers (e.g. the Bitnami chart's default) run
# 17. Debian trixie ships postgresql-client-17, the newest major, which dumps every older
# server too (13 to 17); bookworm only had 15. The chart points
# workflows.metadataDatabase.binDir at PG_MAJOR's bin directory: bump PG_MAJOR, that
# default and scripts/build-image.sh together (a newer major needs a Debian suite that
# ships it).
ARG PG_MAJOR=17
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata postgresql-client-${PG_MAJOR} \
 && /usr/lib/postgresql/${PG_MAJOR}/bin/pg_dump --version \
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
