#!/usr/bin/env bash
# Installs the real servers the tests and the demo run against, using only the Go module
# proxy and Debian packages. Binaries are cached in .tools/bin keyed by version, so a second
# run does nothing. Usage: scripts/install-servers.sh [all|postgres|openbao|vault|minio|fake-gcs|azurite|local-kms|hyperkube|kube-node|image-tools|staticcheck|helm|chromium|zstd|promtool|pushgateway]...
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin"
SRC="$TOOLS/src"
mkdir -p "$BIN" "$SRC"

# Pinned versions: bump here, the cache key follows.
OPENBAO_MODULE_VERSION="v0.0.0-20250828202315-f9407a27fbee" # the v2.4.0 tag commit
OPENBAO_API_VERSION="v2.4.0"
# Module builds don't get goreleaser's version stamp; without it OpenBao calls itself
# 2.0.0-HEAD, which would end up in every backup manifest.
OPENBAO_STAMP="-X github.com/openbao/openbao/version.fullVersion=${OPENBAO_API_VERSION#v}"
OPENBAO_KEY="$OPENBAO_API_VERSION-${OPENBAO_MODULE_VERSION##*-}-stamped"
VAULT_VERSION="v1.19.5"
VAULT_SDK_VERSION="v0.17.0"
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
ETCD_VERSION="v3.5.21"
KUBE_VERSION="v1.33.13"
STATICCHECK_VERSION="v0.8.2"
HELM_VERSION="v3.22.0"
LOCAL_KMS_VERSION="v0.0.0-20260228092603-2a5e92d09ab6"
# 3.36+ require Node.js 21+; the machines have Node.js 20.
AZURITE_VERSION="3.35.0"
FAKE_GCS_VERSION="v1.56.1"

# The same flags on every build so the Go build cache is reused across runs.
BUILD_FLAGS=(-trimpath -ldflags "-s -w")

log() { printf '==> %s\n' "$*" >&2; }

# have NAME VERSION: true when the cached binary exists; (re)points the plain-name symlink.
have() {
  local name=$1 version=$2
  if [[ -x "$BIN/$name-$version" ]]; then
    ln -sfn "$name-$version" "$BIN/$name"
    return 0
  fi
  return 1
}

# seed_sum DIR MODULE@VERSION: copy the server module's own go.sum into the wrapper, because
# some checksum database look-ups are refused from this network; tidy then only adds the rest.
seed_sum() {
  local dir=$1 modver=$2 moddir
  moddir="$(cd "$dir" && GOFLAGS=-mod=mod go mod download -json "$modver" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  if [[ -n "$moddir" && -f "$moddir/go.sum" ]]; then
    cat "$moddir/go.sum" >>"$dir/go.sum"
  fi
}

# build_wrapper NAME KEY DIR [EXTRA_LDFLAGS]: tidy and build the wrapper module in DIR into
# $BIN/NAME-KEY.
build_wrapper() {
  local name=$1 key=$2 dir=$3 extra=${4:-}
  (cd "$dir" && GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>"$dir/tidy.log" || true)
  log "building $name $key (cold builds take several minutes)"
  (cd "$dir" && GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w $extra" -o "$BIN/$name-$key.tmp" .)
  mv "$BIN/$name-$key.tmp" "$BIN/$name-$key"
  ln -sfn "$name-$key" "$BIN/$name"
}

install_openbao() {
  have openbao "$OPENBAO_KEY" && return
  local dir="$SRC/openbao-$OPENBAO_API_VERSION"
  rm -rf "$dir" && mkdir -p "$dir"
  cat >"$dir/go.mod" <<MOD
module lifeboat.local/tools/openbao

go 1.24

require (
	github.com/openbao/openbao $OPENBAO_MODULE_VERSION
	github.com/openbao/openbao/api/v2 $OPENBAO_API_VERSION
	github.com/openbao/openbao/sdk/v2 $OPENBAO_API_VERSION
)
MOD
  cat >"$dir/main.go" <<'GO'
package main

import (
	"os"

	"github.com/openbao/openbao/command"
)

func main() { os.Exit(command.Run(os.Args[1:])) }
GO
  seed_sum "$dir" "github.com/openbao/openbao@$OPENBAO_MODULE_VERSION"
  build_wrapper openbao "$OPENBAO_KEY" "$dir" "$OPENBAO_STAMP"
}

install_vault() {
  have vault "$VAULT_VERSION" && return
  local dir="$SRC/vault-$VAULT_VERSION"
  rm -rf "$dir" && mkdir -p "$dir"
  # vault 1.19.5 only builds from published modules with sdk pinned and keyring replaced;
  # 1.20+ do not build from the proxy at all.
  cat >"$dir/go.mod" <<MOD
module lifeboat.local/tools/vault

go 1.24

require (
	github.com/hashicorp/vault $VAULT_VERSION
	github.com/hashicorp/vault/sdk $VAULT_SDK_VERSION
)

replace github.com/99designs/keyring => github.com/Jeffail/keyring v1.2.3
MOD
  cat >"$dir/main.go" <<'GO'
package main

import (
	"os"

	"github.com/hashicorp/vault/command"
)

func main() { os.Exit(command.Run(os.Args[1:])) }
GO
  seed_sum "$dir" "github.com/hashicorp/vault@$VAULT_VERSION"
  build_wrapper vault "$VAULT_VERSION" "$dir"
}

install_minio() {
  have minio "$MINIO_VERSION" && return
  log "building minio $MINIO_VERSION (cold build takes several minutes)"
  GOBIN="$TOOLS/gobin-minio" go install "${BUILD_FLAGS[@]}" "github.com/minio/minio@$MINIO_VERSION"
  mv "$TOOLS/gobin-minio/minio" "$BIN/minio-$MINIO_VERSION"
  rmdir "$TOOLS/gobin-minio" || true
  ln -sfn "minio-$MINIO_VERSION" "$BIN/minio"
}

# local-kms, an AWS KMS emulator (github.com/nsmithuk/local-kms), is the key server for
# the tests of Vault's and OpenBao's awskms seal (its endpoint parameter points at it).
install_local_kms() {
  have local-kms "$LOCAL_KMS_VERSION" && return
  log "building local-kms $LOCAL_KMS_VERSION"
  GOBIN="$TOOLS/gobin-local-kms" GOFLAGS=-mod=mod go install "${BUILD_FLAGS[@]}" "github.com/nsmithuk/local-kms@$LOCAL_KMS_VERSION"
  mv "$TOOLS/gobin-local-kms/local-kms" "$BIN/local-kms-$LOCAL_KMS_VERSION"
  rmdir "$TOOLS/gobin-local-kms" || true
  ln -sfn "local-kms-$LOCAL_KMS_VERSION" "$BIN/local-kms"
}

# fake-gcs-server: the GCS emulator the gcs destination's conformance, fault and e2e tests
# run against (the JSON API with resumable uploads, as cloud.google.com/go/storage speaks it).
install_fake_gcs() {
  have fake-gcs-server "$FAKE_GCS_VERSION" && return
  log "building fake-gcs-server $FAKE_GCS_VERSION"
  GOBIN="$TOOLS/gobin-fake-gcs" go install "${BUILD_FLAGS[@]}" "github.com/fsouza/fake-gcs-server@$FAKE_GCS_VERSION"
  mv "$TOOLS/gobin-fake-gcs/fake-gcs-server" "$BIN/fake-gcs-server-$FAKE_GCS_VERSION"
  rmdir "$TOOLS/gobin-fake-gcs" || true
  ln -sfn "fake-gcs-server-$FAKE_GCS_VERSION" "$BIN/fake-gcs-server"
}

# One binary for the test cluster, dispatching on its first argument (hyperkube style):
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy. One
# link of the shared Kubernetes dependencies instead of six. Debian's etcd (3.4) is too old
# for kube-apiserver 1.33, so etcd comes from its module at the version Kubernetes pins.
install_hyperkube() {
  local key="$KUBE_VERSION-etcd$ETCD_VERSION"
  if have hyperkube "$key"; then
    ln -sfn "hyperkube-$key" "$BIN/etcd" && ln -sfn "hyperkube-$key" "$BIN/kube-apiserver"
    return
  fi
  local dir="$SRC/hyperkube-$key" kdir staging
  rm -rf "$dir" && mkdir -p "$dir"
  printf 'module lifeboat.local/tools/hyperkube\n\ngo 1.24\n\nrequire (\n\tk8s.io/kubernetes %s\n\tgo.etcd.io/etcd/server/v3 %s\n)\n' "$KUBE_VERSION" "$ETCD_VERSION" >"$dir/go.mod"
  kdir="$(cd "$dir" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  # k8s.io/kubernetes points its staging modules at ./staging; published v0.x tags stand in.
  staging="$(sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$kdir/go.mod" | grep -vE 'sample-(cli-plugin|controller)$')"
  {
    printf '\nreplace (\n'
    for m in $staging; do printf '\t%s => %s %s\n' "$m" "$m" "${KUBE_VERSION/v1./v0.}"; done
    printf ')\n'
  } >>"$dir/go.mod"
  cat >"$dir/main.go" <<'GO'
// hyperkube: the test cluster's components in one binary, chosen by the first argument.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	_ "time/tzdata" // CronJob time zones

	"github.com/spf13/cobra"
	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

func main() {
	name := filepath.Base(os.Args[0])
	args := os.Args[1:]
	if name == "hyperkube" || name == "lifeboat-hyperkube" || name[:min(10, len(name))] == "hyperkube-" {
		if len(args) == 0 {
			fmt.Fprintln(os.Stderr, "usage: hyperkube etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kubelet|kube-proxy [flags]")
			os.Exit(2)
		}
		name, args = args[0], args[1:]
	}
	var cmd *cobra.Command
	switch name {
	case "etcd":
		etcdmain.Main(append([]string{"etcd"}, args...))
		return
	case "kube-apiserver":
		cmd = apiserver.NewAPIServerCommand()
	case "kube-controller-manager":
		cmd = controllermanager.NewControllerManagerCommand()
	case "kube-scheduler":
		cmd = scheduler.NewSchedulerCommand()
	case "kubelet":
		cmd = kubelet.NewKubeletCommand()
	case "kube-proxy":
		cmd = proxy.NewProxyCommand()
	default:
		fmt.Fprintf(os.Stderr, "hyperkube: unknown component %q\n", name)
		os.Exit(2)
	}
	cmd.SetArgs(args)
	os.Exit(cli.Run(cmd))
}
GO
  cp "$kdir/go.sum" "$dir/go.sum"
  seed_sum "$dir" "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  (cd "$dir" && GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>"$dir/tidy.log" || true)
  log "building hyperkube $key (cold build takes 10+ minutes)"
  local vflags="-X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION"
  (cd "$dir" && GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w $vflags" -o "$BIN/hyperkube-$key.tmp" .)
  mv "$BIN/hyperkube-$key.tmp" "$BIN/hyperkube-$key"
  ln -sfn "hyperkube-$key" "$BIN/hyperkube"
  # The plain names dispatch through argv[0], for tools and tests that start them directly.
  ln -sfn "hyperkube-$key" "$BIN/etcd" && ln -sfn "hyperkube-$key" "$BIN/kube-apiserver"
}

install_staticcheck() {
  have staticcheck "$STATICCHECK_VERSION" && return
  log "building staticcheck $STATICCHECK_VERSION"
  GOBIN="$TOOLS/gobin-sc" go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
  mv "$TOOLS/gobin-sc/staticcheck" "$BIN/staticcheck-$STATICCHECK_VERSION"
  rmdir "$TOOLS/gobin-sc" || true
  ln -sfn "staticcheck-$STATICCHECK_VERSION" "$BIN/staticcheck"
}

install_helm() {
  have helm "$HELM_VERSION" && return
  log "building helm $HELM_VERSION"
  GOBIN="$TOOLS/gobin-helm" go install "${BUILD_FLAGS[@]}" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  mv "$TOOLS/gobin-helm/helm" "$BIN/helm-$HELM_VERSION"
  rmdir "$TOOLS/gobin-helm" || true
  ln -sfn "helm-$HELM_VERSION" "$BIN/helm"
}

apt_install() {
  local SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  log "apt-get install $*"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

install_postgres() {
  if [[ -x /usr/lib/postgresql/15/bin/initdb && -x /usr/lib/postgresql/15/bin/pg_ctl ]] && command -v pg_dump >/dev/null; then
    ln -sfn /usr/lib/postgresql/15/bin "$TOOLS/postgres-bin"
    return
  fi
  apt_install postgresql-15 postgresql-client-15
  ln -sfn /usr/lib/postgresql/15/bin "$TOOLS/postgres-bin"
}

# The test cluster's node: Debian's containerd and runc run the pods, the CNI bridge and
# host-local plugins give them addresses, iptables carries kube-proxy's Service rules.
# Nothing is started here (no systemd in CI containers; the test harness runs its own
# containerd with its own config, root and socket).
install_kube_node() {
  if command -v containerd >/dev/null && command -v runc >/dev/null && [[ -x /usr/lib/cni/bridge ]] \
    && command -v iptables >/dev/null && command -v conntrack >/dev/null; then
    return
  fi
  local had_containerd=""
  command -v containerd >/dev/null && had_containerd=yes
  apt_install containerd runc containernetworking-plugins iptables conntrack
  # A containerd that was here before (Docker's, say) is left alone; a new one is not wanted
  # running on the machine's socket.
  if [[ -z $had_containerd && -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
    local SUDO=""
    [[ $(id -u) -eq 0 ]] || SUDO="sudo"
    $SUDO systemctl disable --now containerd >/dev/null 2>&1 || true
  fi
}

# `make image` (scripts/build-image.sh): mmdebstrap builds the image's Debian trixie rootfs
# and checks it against debian-archive-keyring, which must hold trixie's keys (bookworm's
# 2023.3+deb12u2 does). A non-root user also needs uidmap (mmdebstrap's unshare mode).
install_image_tools() {
  if command -v mmdebstrap >/dev/null && [[ -f /usr/share/keyrings/debian-archive-trixie-automatic.gpg ]]; then
    return
  fi
  local pkgs=(mmdebstrap debian-archive-keyring)
  [[ $(id -u) -eq 0 ]] || pkgs+=(uidmap)
  apt_install "${pkgs[@]}"
}

# Debian's zstd CLI: tests prove that stored .zst artifacts open with `zstd -d`, the
# documented way to restore without lifeboat.
install_zstd() {
  command -v zstd >/dev/null && return
  apt_install zstd
}

# Debian's Chromium drives the web page tests (headless, through chromedp).
install_chromium() {
  command -v chromium >/dev/null && return
  apt_install chromium
}

# Debian's Pushgateway receives the metrics one-shot runs push. Tests start their own on a
# free port; the packaged service is not wanted (on systemd hosts the package enables and
# starts it on :9091), so it is stopped and disabled again. Containers with a policy-rc.d
# never start it.
install_pushgateway() {
  command -v prometheus-pushgateway >/dev/null && return
  apt_install prometheus-pushgateway
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
    local SUDO=""
    [[ $(id -u) -eq 0 ]] || SUDO="sudo"
    $SUDO systemctl disable --now prometheus-pushgateway >/dev/null 2>&1 || true
  fi
}

# promtool (from Debian's prometheus package) unit-tests the chart's alert rules. Only the
# tool is wanted: where systemd runs, the package also enables and starts a Prometheus on
# :9090, so that is stopped and disabled again. The symlink lets tests find it in $BIN.
install_promtool() {
  # Debian's fixed path, not `command -v`: test.sh puts $BIN first on PATH, where the
  # symlink made by an earlier run would be found and then pointed at itself.
  local tool=/usr/bin/promtool
  if [[ ! -x $tool ]]; then
    apt_install prometheus
    if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
      local SUDO=""
      [[ $(id -u) -eq 0 ]] || SUDO="sudo"
      $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
    fi
  fi
  ln -sfn "$tool" "$BIN/promtool"
}

# Azurite, Microsoft's Azure Storage emulator, from the npm registry; the tests run only its
# blob service. The wrapper finds the package beside itself, so .tools can be a symlink.
install_azurite() {
  have azurite-blob "$AZURITE_VERSION" && return
  command -v node >/dev/null && command -v npm >/dev/null || { echo "azurite needs node and npm (Node.js 20+)" >&2; return 1; }
  local dir="$TOOLS/azurite"
  log "npm install azurite@$AZURITE_VERSION"
  npm install --prefix "$dir" --no-audit --no-fund --omit=dev --loglevel=error "azurite@$AZURITE_VERSION" >/dev/null
  cat >"$BIN/azurite-blob-$AZURITE_VERSION.tmp" <<'SH'
#!/usr/bin/env bash
# Azurite's blob service (installed by scripts/install-servers.sh azurite).
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
exec node "$here/../azurite/node_modules/azurite/dist/src/blob/main.js" "$@"
SH
  chmod +x "$BIN/azurite-blob-$AZURITE_VERSION.tmp"
  mv "$BIN/azurite-blob-$AZURITE_VERSION.tmp" "$BIN/azurite-blob-$AZURITE_VERSION"
  ln -sfn "azurite-blob-$AZURITE_VERSION" "$BIN/azurite-blob"
}

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(all)
for t in "${targets[@]}"; do
  case "$t" in
    all)
      install_postgres
      install_staticcheck
      install_minio
      install_fake_gcs
      install_openbao
      install_hyperkube
      install_kube_node
      install_image_tools
      install_vault
      install_local_kms
      install_chromium
      install_zstd
      install_pushgateway
      install_promtool
      install_helm
      install_azurite
      ;;
    postgres) install_postgres ;;
    openbao) install_openbao ;;
    vault) install_vault ;;
    minio) install_minio ;;
    local-kms) install_local_kms ;;
    fake-gcs|fake-gcs-server) install_fake_gcs ;;
    hyperkube|etcd|kube-apiserver) install_hyperkube ;;
    kube-node) install_kube_node ;;
    image-tools) install_image_tools ;;
    staticcheck) install_staticcheck ;;
    helm) install_helm ;;
    chromium) install_chromium ;;
    zstd) install_zstd ;;
    pushgateway) install_pushgateway ;;
    promtool) install_promtool ;;
    azurite|azurite-blob) install_azurite ;;
    *) echo "unknown target: $t" >&2; exit 2 ;;
  esac
done
