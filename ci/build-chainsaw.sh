#!/usr/bin/env bash
# Build chainsaw from the Go module proxy, for `make bench` only (the side-by-side timing
# of a converged lab 01 check). Prints the binary's path. Cached: skipped when
# $KUBELAB_CACHE/bin/chainsaw-$CHAINSAW_VERSION already reports that version.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
. "$here/versions.env"
KUBELAB_CACHE="${KUBELAB_CACHE:-/var/cache/kubelab}"
die() { echo "build-chainsaw: $*" >&2; exit 1; }

bin="$KUBELAB_CACHE/bin/chainsaw-$CHAINSAW_VERSION"
if ! [[ -x "$bin" ]] || ! "$bin" version 2>/dev/null | grep -q "${CHAINSAW_VERSION#v}"; then
  command -v go >/dev/null || die "go not found on PATH"
  mkdir -p "$KUBELAB_CACHE/bin"
  tmp="$(mktemp -d "$KUBELAB_CACHE/.chainsaw-build.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  GOTOOLCHAIN="$CHAINSAW_GOTOOLCHAIN" GOBIN="$tmp" CGO_ENABLED=0 timeout 1200 \
    go install "github.com/kyverno/chainsaw@$CHAINSAW_VERSION" >"$tmp/log" 2>&1 \
    || { tail -n 20 "$tmp/log" >&2; die "go install github.com/kyverno/chainsaw@$CHAINSAW_VERSION failed"; }
  mv -f "$tmp/chainsaw" "$bin"
fi
echo "$bin"
