#!/usr/bin/env bash
# The one test command (README, .ci/run): installs the real servers the tests need, then
# runs gofmt, go vet, staticcheck and every test. With CI=true a skipped integration test
# fails the run, so CI can never go green by not testing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/.tools/bin:$PATH"

step() { printf '\n==> %s\n' "$*"; }

step "install servers and tools (cached in .tools/)"
scripts/install-servers.sh all

step "gofmt"
unformatted="$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*'))"
if [[ -n "$unformatted" ]]; then
  echo "these files need gofmt -w:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...

step "staticcheck"
staticcheck ./...

# The image of this checkout, for the image tests and the tests that run it in the test
# cluster; the Debian rootfs layer is cached in .tools/image-cache/, so this takes seconds.
step "build the image (bin/lifeboat-image.tar)"
scripts/build-image.sh

step "go test (real OpenBao, Vault, PostgreSQL, MinIO, fake-gcs-server, Kubernetes API)"
log="$ROOT/.tools/test.log"
# -p 2: the integration tests start heavy servers; more packages at once only thrashes 2 cores.
# -v so skipped tests show in the log; the console gets everything but the RUN/PASS chatter.
set +e
go test -count=1 -p 2 -timeout 60m -v "$@" ./... 2>&1 | tee "$log" | grep --line-buffered -vE '^\s*(=== (RUN|PAUSE|CONT|NAME)|--- PASS|PASS$)'
status=${PIPESTATUS[0]}
set -e
if [[ $status -ne 0 ]]; then
  echo "tests failed (full log: $log)"; exit "$status"
fi
if [[ "${CI:-}" == "true" ]] && grep -q -- '--- SKIP' "$log"; then
  echo "CI=true but these tests were skipped:"; grep -B2 -A3 -- '--- SKIP' "$log"; exit 1
fi
echo "all tests passed"
