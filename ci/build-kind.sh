#!/usr/bin/env bash
# Build the kind CLI from the Go module proxy and link it as /usr/local/bin/kind.
# Cached: skipped when $KUBELAB_CACHE/bin/kind-$KIND_VERSION already reports that version.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
. "$here/versions.env"
KUBELAB_CACHE="${KUBELAB_CACHE:-/var/cache/kubelab}"
die() { echo "build-kind: $*" >&2; exit 1; }

bin="$KUBELAB_CACHE/bin/kind-$KIND_VERSION"
if ! [[ -x "$bin" ]] || ! "$bin" version 2>/dev/null | grep -q "^kind $KIND_VERSION "; then
  command -v go >/dev/null || die "go not found on PATH"
  tmp="$(mktemp -d "$KUBELAB_CACHE/.kind-build.XXXXXX" 2>/dev/null)" \
    || { mkdir -p "$KUBELAB_CACHE" && tmp="$(mktemp -d "$KUBELAB_CACHE/.kind-build.XXXXXX")"; }
  trap 'rm -rf "$tmp"' EXIT
  GOBIN="$tmp" CGO_ENABLED=0 go install "sigs.k8s.io/kind@$KIND_VERSION" >"$tmp/log" 2>&1 \
    || { tail -n 20 "$tmp/log" >&2; die "go install sigs.k8s.io/kind@$KIND_VERSION failed"; }
  "$tmp/kind" version 2>/dev/null | grep -q "^kind $KIND_VERSION " \
    || die "built kind does not report $KIND_VERSION: $("$tmp/kind" version 2>&1)"
  mkdir -p "$KUBELAB_CACHE/bin"
  mv -f "$tmp/kind" "$bin"
fi
if [[ "$(readlink /usr/local/bin/kind 2>/dev/null || true)" != "$bin" ]]; then
  ln -sfn "$bin" /usr/local/bin/kind
fi
