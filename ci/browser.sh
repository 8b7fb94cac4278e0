#!/usr/bin/env bash
# The browser the teacher's page is tested in: Debian's chromium, headless, driven from
# Python (tests/e2e/test_teacher_page.py), and the fonts its screenshots need.
#
# Pinned, as far as Debian allows: CHROMIUM_DEB_VERSION (ci/versions.env) is the build the
# tests were last run with. Debian's security archive serves only its newest build of a
# package, so a pinned build vanishes at Debian's next security update (a CI run failed so
# on 2026-12-04). Then this installs the newest build of the same Debian release
# (bookworm-security: security fixes only), never an older one than the pin, and says so in
# one line; update the pin to it. Fonts come from the release itself and stay exact.
# Idempotent: apt runs only when chromium is missing or older than the pin, or the fonts
# differ. Run by .ci/run before `make e2e`; on a machine of your own: sudo ci/browser.sh.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=versions.env
source versions.env
export LC_ALL=C  # apt's words (Candidate:, the suites) as this script reads them
die() { echo "browser: $*" >&2; exit 1; }
version() { [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" == ii* ]] && dpkg-query -W -f='${Version}' "$1"; true; }
at_least_pin() { [[ -n "$1" ]] && dpkg --compare-versions "$1" ge "$CHROMIUM_DEB_VERSION"; }
have="$(version chromium)"
fonts_ok() { [[ "$(version fonts-noto-cjk)" == "$FONTS_NOTO_CJK_DEB_VERSION" ]]; }
if at_least_pin "$have" && fonts_ok; then
  [[ "$have" == "$CHROMIUM_DEB_VERSION" ]] || echo "browser: chromium $have is installed, newer than the pinned $CHROMIUM_DEB_VERSION"
  exit 0
fi
[[ $EUID -eq 0 ]] || die "chromium $CHROMIUM_DEB_VERSION (or a newer Debian build) is not installed; run as root: sudo ci/browser.sh"
log=/tmp/kubelab-apt-browser.log
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >"$log" 2>&1 || { tail -n 5 "$log" >&2; die "apt-get update failed (log: $log)"; }
# Debian's builds of chromium for this release (bookworm and its security updates), newest first
served() { apt-cache madison chromium | awk -F'|' '$3 ~ /bookworm/ {gsub(/ /, "", $2); print $2}'; }
if at_least_pin "$have"; then
  chromium="$have"  # never a downgrade: only the fonts are missing
elif served | grep -xF "$CHROMIUM_DEB_VERSION" >/dev/null; then
  chromium="$CHROMIUM_DEB_VERSION"
else
  chromium=""
  for v in $(served); do
    if [[ -z "$chromium" ]] || dpkg --compare-versions "$v" gt "$chromium"; then chromium="$v"; fi
  done
  at_least_pin "$chromium" \
    || die "Debian serves no chromium $CHROMIUM_DEB_VERSION or newer for bookworm (newest: ${chromium:-none}; apt-cache policy chromium)"
  echo "browser: Debian no longer serves chromium $CHROMIUM_DEB_VERSION (it keeps only its newest security build); installing $chromium: set CHROMIUM_DEB_VERSION=$chromium in ci/versions.env"
fi
apt-get install -y -qq --no-install-recommends "chromium=$chromium" "fonts-noto-cjk=$FONTS_NOTO_CJK_DEB_VERSION" >>"$log" 2>&1 \
  || { tail -n 5 "$log" >&2; die "apt-get install chromium=$chromium failed (log: $log; apt-cache policy chromium shows what Debian has)"; }
echo "browser: installed chromium $chromium"
