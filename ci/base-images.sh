#!/usr/bin/env bash
# Debian bookworm base images built with debootstrap (no registry needed):
#  debian:bookworm-slim      a genuine minbase Debian, so `docker build FROM debian:bookworm-slim`
#                            (with `RUN apt-get install ...`) works offline-from-registries;
#  kubelab/node-base:bookworm the root file system kubelab's kind node image is assembled on
#                            (systemd, containerd, runc, CNI plugins, iptables, ...).
# Root file systems are cached as tarballs in $KUBELAB_CACHE/rootfs/, keyed by a hash of
# their recipe; images are (re)imported only when their kubelab.rootfs label differs.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
. "$here/versions.env"
KUBELAB_CACHE="${KUBELAB_CACHE:-/var/cache/kubelab}"
die() { echo "base-images: $*" >&2; exit 1; }
[[ $EUID -eq 0 ]] || die "must run as root"

SUITE=bookworm
MIRROR="${KUBELAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${KUBELAB_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
PATH_ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

SLIM_PACKAGES=()
# What a kind node needs at runtime: systemd as init, containerd+runc for the CRI,
# the CNI plugins, and the tools kubelet/kubeadm/kube-proxy shell out to.
NODE_PACKAGES=(
  systemd systemd-sysv dbus libsystemd0
  containerd runc containernetworking-plugins
  iproute2 iptables nftables conntrack ethtool socat ebtables
  mount util-linux e2fsprogs kmod procps pigz ca-certificates libseccomp2
)

# Common fix-ups of a fresh debootstrap root ($1): apt sources with updates and
# security, no caches, no machine identity.
finish_rootfs() {
  local root="$1"
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<SRC
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  # like Debian's official images: no recommends, no docs kept by later installs
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$root/etc/apt/apt.conf.d/90kubelab-norecommends"
  printf 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb || true"; };\nAPT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb || true"; };\n' \
    >"$root/etc/apt/apt.conf.d/90kubelab-clean"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/tmp/* "$root"/root/.cache
  : >"$root/etc/machine-id"
  rm -f "$root/var/lib/dbus/machine-id"
  printf 'localhost\n' >"$root/etc/hostname"
  : >"$root/etc/resolv.conf"   # docker bind-mounts its own at run time
}

# Node-specific fix-ups ($1 = root).
finish_node_rootfs() {
  local root="$1"
  # CNI plugins where kubelet/containerd look for them
  mkdir -p "$root/opt/cni/bin"
  local p
  for p in "$root"/usr/lib/cni/*; do ln -sfn "/usr/lib/cni/${p##*/}" "$root/opt/cni/bin/${p##*/}"; done
  # units that make no sense (or fail) inside a container
  local u
  for u in systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
           systemd-udev-trigger.service systemd-modules-load.service getty.target console-getty.service \
           getty@tty1.service systemd-logind.service systemd-remount-fs.service \
           dev-hugepages.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
           systemd-firstboot.service systemd-hwdb-update.service \
           apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer; do
    ln -sfn /dev/null "$root/etc/systemd/system/$u"
  done
  # Debian enables containerd.service itself; the node image ships its own unit.
  rm -f "$root/etc/systemd/system/multi-user.target.wants/containerd.service"
}

recipe_key() { # name, packages... -> short hash of everything that shapes the root
  { printf '%s\n' "$SUITE" "$MIRROR" "$SECURITY_MIRROR" "$@"
    declare -f finish_rootfs finish_node_rootfs; } | sha256sum | cut -c1-12
}

# build_rootfs NAME TARBALL PACKAGES...: debootstrap into a temp dir, fix it up, tar it.
build_rootfs() {
  local name="$1" tarball="$2"; shift 2
  local work; work="$(mktemp -d "$KUBELAB_CACHE/rootfs/.build-$name.XXXXXX")"
  local log="$work.log"
  local include=(); (($#)) && include=("--include=$(IFS=,; echo "$*")")
  if ! debootstrap --variant=minbase "${include[@]}" "$SUITE" "$work/root" "$MIRROR" >"$log" 2>&1; then
    tail -n 20 "$log" >&2; rm -rf "$work"; die "debootstrap of $name failed (log: $log)"
  fi
  finish_rootfs "$work/root"
  [[ "$name" == node ]] && finish_node_rootfs "$work/root"
  tar --numeric-owner --xattrs -C "$work/root" -cf "$work/rootfs.tar" .
  mv -f "$work/rootfs.tar" "$tarball"
  rm -rf "$work" "$log"
}

# ensure_image IMAGE NAME KEY PACKAGES... -- CHANGES...
ensure_image() {
  local image="$1" name="$2" key="$3"; shift 3
  local pkgs=() changes=()
  while (($#)) && [[ "$1" != -- ]]; do pkgs+=("$1"); shift; done
  (($#)) && shift
  for c in "$@"; do changes+=(--change "$c"); done
  local tarball="$KUBELAB_CACHE/rootfs/$name-$SUITE-$key.tar"
  # the image label covers the root file system and the image settings
  local label have
  label="$name-$SUITE-$key-$(printf '%s\n' "$@" | sha256sum | cut -c1-8)"
  have="$(docker image inspect --format '{{index .Config.Labels "kubelab.rootfs"}}' "$image" 2>/dev/null || true)"
  [[ "$have" == "$label" ]] && return 0
  if [[ ! -s "$tarball" ]]; then
    build_rootfs "$name" "$tarball" "${pkgs[@]}"
    # drop tarballs of older recipes
    find "$KUBELAB_CACHE/rootfs" -maxdepth 1 -name "$name-$SUITE-*.tar" ! -name "${tarball##*/}" -delete
  fi
  local old_id
  old_id="$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)"
  docker import "${changes[@]}" --change "LABEL kubelab.rootfs=$label" "$tarball" "$image" >/dev/null \
    || die "docker import of $tarball as $image failed"
  # drop the image this one replaces, unless something still uses it
  if [[ -n "$old_id" ]]; then docker image rm "$old_id" >/dev/null 2>&1 || true; fi
}

command -v debootstrap >/dev/null || die "debootstrap missing (run ci/prerequisites.sh)"
docker info >/dev/null 2>&1 || die "docker is not running (run ci/docker-engine.sh first)"
mkdir -p "$KUBELAB_CACHE/rootfs"

slim_key="$(recipe_key slim "${SLIM_PACKAGES[@]}")"
node_key="$(recipe_key node "${NODE_PACKAGES[@]}")"

ensure_image debian:bookworm-slim slim "$slim_key" "${SLIM_PACKAGES[@]}" -- \
  "ENV $PATH_ENV" 'CMD ["bash"]' &
slim_pid=$!
ensure_image kubelab/node-base:bookworm node "$node_key" "${NODE_PACKAGES[@]}" -- \
  "ENV $PATH_ENV" 'ENV container=docker' 'CMD ["/sbin/init"]' &
node_pid=$!
rc=0
wait "$slim_pid" || rc=1
wait "$node_pid" || rc=1
((rc == 0)) || die "building base images failed"
