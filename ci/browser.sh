#!/usr/bin/env bash
# The browser the teacher's page is tested in: Debian's chromium at the pinned version
# (ci/versions.env), headless, driven from Python (tests/e2e/test_teacher_page.py).
# Idempotent: apt runs only when that version is not installed. Run by .ci/run before
# `make e2e`; on a machine of your own: sudo ci/browser.sh.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=versions.env
source versions.env
die() { echo "browser: $*" >&2; exit 1; }
version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }
[[ "$(version chromium)" == "$CHROMIUM_DEB_VERSION" && "$(version fonts-noto-cjk)" == "$FONTS_NOTO_CJK_DEB_VERSION" ]] && exit 0
[[ $EUID -eq 0 ]] || die "chromium $CHROMIUM_DEB_VERSION is not installed; run as root: sudo ci/browser.sh"
log=/tmp/kubelab-apt-browser.log
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >"$log" 2>&1 || { tail -n 5 "$log" >&2; die "apt-get update failed (log: $log)"; }
apt-get install -y -qq --no-install-recommends "chromium=$CHROMIUM_DEB_VERSION" "fonts-noto-cjk=$FONTS_NOTO_CJK_DEB_VERSION" >>"$log" 2>&1 \
  || { tail -n 5 "$log" >&2; die "apt-get install chromium=$CHROMIUM_DEB_VERSION failed (log: $log; apt-cache policy chromium shows what Debian has)"; }
echo "browser: installed chromium $CHROMIUM_DEB_VERSION"
