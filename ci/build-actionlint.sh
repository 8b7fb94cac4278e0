#!/usr/bin/env bash
# Build actionlint from the Go module proxy, for `make lint` (the GitHub Classroom workflow
# template under templates/). Prints the binary's path as its last line. Cached: skipped
# when $KUBELAB_CACHE/bin/actionlint-$ACTIONLINT_VERSION already reports that version;
# $KUBELAB_CACHE is /var/cache/kubelab, or the repository's .kubelab when that is not
# writable.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
. "$here/versions.env"
die() { echo "build-actionlint: $*" >&2; exit 1; }

if [[ -z "${KUBELAB_CACHE:-}" ]]; then
  KUBELAB_CACHE=/var/cache/kubelab
  if ! { mkdir -p "$KUBELAB_CACHE/bin" && [[ -w "$KUBELAB_CACHE/bin" ]]; } 2>/dev/null; then
    KUBELAB_CACHE="$(dirname "$here")/.kubelab"
  fi
fi
bin="$KUBELAB_CACHE/bin/actionlint-$ACTIONLINT_VERSION"

reports_version() { [[ -x "$1" ]] && timeout 10 "$1" -version 2>/dev/null | head -n 1 | grep -qx "$ACTIONLINT_VERSION"; }

if ! reports_version "$bin"; then
  command -v go >/dev/null || die "go not found on PATH"
  mkdir -p "$KUBELAB_CACHE/bin"
  tmp="$(mktemp -d "$KUBELAB_CACHE/.actionlint-build.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  # GOTOOLCHAIN=local: build with the installed Go, never fetch another toolchain.
  GOTOOLCHAIN=local GOBIN="$tmp" CGO_ENABLED=0 timeout 900 \
    go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" >"$tmp/log" 2>&1 \
    || { tail -n 20 "$tmp/log" >&2; die "go install github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION failed"; }
  reports_version "$tmp/actionlint" \
    || die "built actionlint does not report $ACTIONLINT_VERSION: $(timeout 10 "$tmp/actionlint" -version 2>&1 | head -n 1)"
  mv -f "$tmp/actionlint" "$bin"
fi
echo "$bin"
