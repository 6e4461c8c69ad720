#!/usr/bin/env bash
# Builds the lifeboat container image as an OCI image archive, bin/lifeboat-image.tar,
# without a container engine (`make image`). Its contents match the Dockerfile's:
#   layer 1: a Debian rootfs (mmdebstrap, minbase) with ca-certificates, tzdata and the
#            PostgreSQL client, the lifeboat user and its directories; cached in
#            .tools/image-cache/ keyed by this script's rootfs section and the variables
#            below, so a rebuild after a code change takes seconds;
#   layer 2: /usr/local/bin/lifeboat (static, this checkout) and /usr/local/bin/bao (the
#            OpenBao server from .tools/bin/openbao, scripts/install-servers.sh openbao).
# The archive is written by internal/tools/mkimage (internal/ociimage).
#
#   scripts/build-image.sh
#   IMAGE=registry.example.com/lifeboat:0.1.0 VERSION=0.1.0 scripts/build-image.sh
#   skopeo copy oci-archive:bin/lifeboat-image.tar docker://registry.example.com/lifeboat:0.1.0
#   ctr -n k8s.io images import bin/lifeboat-image.tar
#
# Needs mmdebstrap (scripts/install-servers.sh image-tools) and root (or mmdebstrap's
# unshare mode) for a cold rootfs build. REFRESH_ROOTFS=1 rebuilds the rootfs; it is
# rebuilt anyway when older than ROOTFS_MAX_AGE_DAYS, to pick up Debian's security fixes.
set -euo pipefail

# What the image is. test/helm/dockerfile_test.go reads these NAME=value lines and checks
# them against the Dockerfile: keep them plain (no expansions).
DEBIAN_SUITE=trixie
DEBIAN_MIRROR=http://deb.debian.org/debian
DEBIAN_SECURITY_MIRROR=http://deb.debian.org/debian-security
PG_MAJOR=17
PACKAGES=ca-certificates,tzdata,postgresql-client-17
APP_USER=lifeboat
APP_UID=65532
APP_GID=65532
APP_HOME=/var/lib/lifeboat
CONFIG_DIR=/etc/lifeboat
LIFEBOAT_BIN=/usr/local/bin/lifeboat
BAO_BIN=/usr/local/bin/bao
ENTRYPOINT='["/usr/local/bin/lifeboat"]'
CMD='["--help"]'
CONFIG_FILE=/etc/lifeboat/config/lifeboat.yaml
LOG_FORMAT=json
IMAGE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ROOTFS_MAX_AGE_DAYS=7

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
IMAGE="${IMAGE:-ghcr.io/lifeboat-backup/lifeboat:dev}"
# lifeboat's version stamp: the commit (git describe), or VERSION=0.1.0 for a release.
VERSION="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
OUT="${OUT:-$ROOT/bin/lifeboat-image.tar}"
BAO_SOURCE="${BAO_SOURCE:-$ROOT/.tools/bin/openbao}"
CACHE="$ROOT/.tools/image-cache"
# One time for the config, layer 2's entries and a rebuilt rootfs: the last commit's.
SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"
export SOURCE_DATE_EPOCH

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build-image: %s\n' "$*" >&2; exit 1; }

[[ ",$PACKAGES," == *",postgresql-client-$PG_MAJOR,"* ]] || die "PACKAGES must include postgresql-client-$PG_MAJOR"
[[ -x "$BAO_SOURCE" ]] || die "no OpenBao binary at $BAO_SOURCE: run scripts/install-servers.sh openbao"

# >>> rootfs: everything from here to "<<< rootfs" is part of the rootfs cache key.
# build_rootfs OUT.tar.gz: a minbase Debian with PACKAGES, the user, its directories, no
# apt lists, docs, man pages, locales, device nodes, hostname or resolv.conf. The dpkg
# path-excludes stay in the image (as in Debian's -slim images), so later installs stay
# small too. The hooks check the PostgreSQL client runs, directly and through Debian's
# wrappers on PATH.
build_rootfs() {
  local out=$1 work
  command -v mmdebstrap >/dev/null || die "mmdebstrap missing: run scripts/install-servers.sh image-tools"
  work="$(mktemp -d "$CACHE/build.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT # build_rootfs runs in a subshell
  mmdebstrap --variant=minbase --quiet \
    --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
    --include="$PACKAGES" \
    --aptopt='Acquire::Languages "none"' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --customize-hook="chroot \"\$1\" groupadd --system --gid $APP_GID $APP_USER" \
    --customize-hook="chroot \"\$1\" useradd --system --uid $APP_UID --gid $APP_GID --home-dir $APP_HOME --no-create-home --shell /usr/sbin/nologin $APP_USER" \
    --customize-hook="install -d -o $APP_UID -g $APP_GID -m 0750 \"\$1$APP_HOME\" \"\$1$CONFIG_DIR\"" \
    --customize-hook="for t in pg_dump pg_dumpall pg_restore psql; do chroot \"\$1\" /usr/lib/postgresql/$PG_MAJOR/bin/\$t --version >/dev/null && chroot \"\$1\" \$t --version | grep ' $PG_MAJOR\\.' || exit 1; done" \
    --customize-hook="chroot \"\$1\" dpkg-query -W -f='\${Package} \${Version}\\n' >\"$work/packages\"" \
    --customize-hook='find "$1/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete' \
    --customize-hook='find "$1/usr/share/doc" -mindepth 1 -type d -empty -delete' \
    --customize-hook='rm -rf "$1"/usr/share/man/* "$1"/usr/share/info/* "$1"/usr/share/lintian/*' \
    --customize-hook='find "$1/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +' \
    --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/apt/* "$1"/var/cache/debconf/*-old "$1"/var/lib/dpkg/*-old "$1"/etc/hostname "$1"/etc/resolv.conf' \
    --customize-hook='rm -f "$1"/var/log/*.log' \
    "$DEBIAN_SUITE" "$work/rootfs.tar" \
    "deb $DEBIAN_MIRROR $DEBIAN_SUITE main" \
    "deb $DEBIAN_MIRROR $DEBIAN_SUITE-updates main" \
    "deb $DEBIAN_SECURITY_MIRROR $DEBIAN_SUITE-security main"
  # The runtime provides /dev; an image carries none of its nodes.
  tar --delete --wildcards -f "$work/rootfs.tar" './dev/?*'
  tar -tvf "$work/rootfs.tar" >"$work/files"
  gzip -n -6 <"$work/rootfs.tar" >"$work/rootfs.tar.gz"
  mv "$work/packages" "${out%.tar.gz}.packages"
  mv "$work/files" "${out%.tar.gz}.files"
  mv "$work/rootfs.tar.gz" "$out"
}
# <<< rootfs

rootfs_key() {
  {
    sed -n '/^# >>> rootfs/,/^# <<< rootfs/p' "${BASH_SOURCE[0]}"
    printf '%s\n' "$DEBIAN_SUITE" "$DEBIAN_MIRROR" "$DEBIAN_SECURITY_MIRROR" "$PG_MAJOR" "$PACKAGES" \
      "$APP_USER" "$APP_UID" "$APP_GID" "$APP_HOME" "$CONFIG_DIR" "$(dpkg --print-architecture)"
  } | sha256sum | cut -c1-16
}

start=$SECONDS
mkdir -p "$CACHE" "$(dirname "$OUT")"
rootfs="$CACHE/rootfs-$(rootfs_key).tar.gz"
(
  # One rootfs build at a time (the test run and `make image` may overlap).
  flock 9
  if [[ -f "$rootfs" && "${REFRESH_ROOTFS:-}" != 1 ]] && [[ -z "$(find "$rootfs" -mtime "+$ROOTFS_MAX_AGE_DAYS")" ]]; then
    log "rootfs: cached $rootfs"
  else
    log "rootfs: Debian $DEBIAN_SUITE with $PACKAGES (mmdebstrap, about a minute)"
    build_rootfs "$rootfs"
    # Older rootfs builds are not used again.
    find "$CACHE" -maxdepth 1 -name 'rootfs-*' ! -name "$(basename "${rootfs%.tar.gz}").*" -delete
  fi
) 9>"$CACHE/.lock"

# bao runs inside the rootfs: when it is dynamically linked, the libraries it needs must be
# there and the rootfs's glibc at least as new as the newest symbol version it uses.
if ldd "$BAO_SOURCE" >/dev/null 2>&1; then
  glibc_have="$(sed -n 's/^libc6 \([0-9]*\.[0-9]*\).*/\1/p' "${rootfs%.tar.gz}.packages")"
  glibc_need="$(ldd -v "$BAO_SOURCE" | grep -oE 'GLIBC_[0-9]+(\.[0-9]+)+' | sed 's/GLIBC_//' | sort -uV | tail -1)"
  [[ -n "$glibc_have" ]] || die "no libc6 in the rootfs package list"
  if [[ -n "$glibc_need" && "$(printf '%s\n' "$glibc_need" "$glibc_have" | sort -V | tail -1)" != "$glibc_have" ]]; then
    die "bao needs glibc $glibc_need, the $DEBIAN_SUITE rootfs has $glibc_have"
  fi
  for lib in $(ldd "$BAO_SOURCE" | awk '/=>/ {print $1} !/=>/ && $1 ~ /^\// {print $1}' | xargs -n1 basename); do
    grep -q "/$lib\( \|$\)" "${rootfs%.tar.gz}.files" || die "bao needs $lib, which the rootfs lacks"
  done
  log "bao: dynamically linked, needs glibc ${glibc_need:-?}; the rootfs has $glibc_have"
fi

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
log "layer 2: lifeboat $VERSION (static) and bao"
mkdir -p "$stage$(dirname "$LIFEBOAT_BIN")" "$stage$(dirname "$BAO_BIN")"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$VERSION" -o "$stage$LIFEBOAT_BIN" ./cmd/lifeboat
install -m 0755 "$BAO_SOURCE" "$stage$BAO_BIN"
chmod 0755 "$stage$LIFEBOAT_BIN"
# The staged tree's directories become the layer's usr/, usr/local/, usr/local/bin/.
find "$stage" -mindepth 1 -type d -exec chmod 0755 {} +

log "writing $OUT"
go run ./internal/tools/mkimage --out "$OUT" --ref "$IMAGE" \
  --layer "$rootfs" --layer "$stage" --dir-owner 0:0 \
  --user "$APP_UID:$APP_GID" --workdir "$APP_HOME" \
  --entrypoint "$ENTRYPOINT" --cmd "$CMD" \
  --env "PATH=$IMAGE_PATH" --env "LIFEBOAT_CONFIG=$CONFIG_FILE" --env "LIFEBOAT_LOG_FORMAT=$LOG_FORMAT" \
  --label "org.opencontainers.image.version=$VERSION" \
  --label "org.opencontainers.image.source=https://github.com/lifeboat-backup/lifeboat"

cat <<EOF
built $IMAGE in $((SECONDS - start))s: $OUT
push it:   skopeo copy oci-archive:${OUT#"$ROOT/"} docker://REGISTRY/lifeboat:TAG
load it:   ctr -n k8s.io images import ${OUT#"$ROOT/"}    (lists as $IMAGE)
EOF
