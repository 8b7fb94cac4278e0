#!/usr/bin/env bash
# Builds the container images a kubelab node preloads, from the binaries of
# ci/build-k8s.sh and the Dockerfiles under ci/images/, with no registry: FROM scratch
# for the static binaries, FROM debian:bookworm-slim (ci/base-images.sh) where a shell
# or iptables is needed. Tags are exactly what kubeadm ${K8S_VERSION} and the node's
# containerd ask for. Writes the list to ${KUBELAB_CACHE}/k8s/${K8S_VERSION}/images.txt
# (read by ci/node-image.sh) and smoke-tests every image.
#
# An image is rebuilt only when its inputs (Dockerfile, context files, base image)
# changed: their hash is kept in the image's kubelab.inputs label.
# Needs a running Docker engine (ci/docker-engine.sh); waits up to
# KUBELAB_DOCKER_WAIT seconds (default 300) for one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
die() { echo "build-k8s-images: error: $*" >&2; exit 1; }
log() { echo "build-k8s-images: $*" >&2; }

CACHE=${KUBELAB_CACHE:-/var/cache/kubelab}
K8S="$CACHE/k8s/$K8S_VERSION"
BIN="$K8S/bin"
IMAGES="$here/images"
BASE=debian:bookworm-slim
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
export DOCKER_BUILDKIT=0   # the classic builder: no buildx, and it never pulls a local base

# name  Dockerfile-dir  binaries
SPECS=(
  "registry.k8s.io/kube-apiserver:$K8S_VERSION kube-apiserver kube-apiserver"
  "registry.k8s.io/kube-controller-manager:$K8S_VERSION kube-controller-manager kube-controller-manager"
  "registry.k8s.io/kube-scheduler:$K8S_VERSION kube-scheduler kube-scheduler"
  "registry.k8s.io/kube-proxy:$K8S_VERSION kube-proxy kube-proxy"
  "registry.k8s.io/etcd:$ETCD_IMAGE_TAG etcd etcd,etcdctl"
  "registry.k8s.io/coredns/coredns:$COREDNS_VERSION coredns coredns"
  "registry.k8s.io/pause:$PAUSE_VERSION pause pause"
  "kubelab/local-path-provisioner:$LOCAL_PATH_PROVISIONER_VERSION local-path-provisioner local-path-provisioner"
  "kubelab/local-path-helper:$LOCAL_PATH_PROVISIONER_VERSION local-path-helper -"
  "kubelab/kube-router:$KUBE_ROUTER_VERSION kube-router router"
  "kubelab/netd:$KUBELAB_NETD_VERSION kubelab-netd kubelab-netd"
)

wait_for_docker() {
  local deadline=$((SECONDS + ${KUBELAB_DOCKER_WAIT:-300})) err
  command -v docker >/dev/null || die "docker CLI not found (run ci/docker-engine.sh)"
  until err=$(docker info 2>&1 >/dev/null); do
    if [[ $err == *"API version"* && -z ${DOCKER_API_VERSION:-} ]]; then
      log "docker client/daemon API mismatch; retrying with DOCKER_API_VERSION=1.41"
      export DOCKER_API_VERSION=1.41; continue
    fi
    ((SECONDS < deadline)) || die "no Docker engine answered within ${KUBELAB_DOCKER_WAIT:-300}s (run ci/docker-engine.sh): ${err##*$'\n'}"
    log "waiting for the Docker engine..."
    sleep 2
  done
}

# build context for one image: Dockerfile, rootfs/ (static root) and bin/<binaries>
make_context() { # ctx dir bins
  local ctx=$1 dir=$2 bins=$3 b
  mkdir -p "$ctx/bin" "$ctx/rootfs/etc/ssl/certs"
  cp "$IMAGES/$dir/Dockerfile" "$ctx/Dockerfile"
  cp -R "$IMAGES/static-rootfs/." "$ctx/rootfs/"
  cp "$CA_BUNDLE" "$ctx/rootfs/etc/ssl/certs/ca-certificates.crt"
  find "$ctx/rootfs" -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +
  install -d -m 1777 "$ctx/rootfs/tmp"
  [[ $bins == - ]] && return 0
  for b in ${bins//,/ }; do
    [[ -x $BIN/$b ]] || die "$BIN/$b missing (run ci/build-k8s.sh first)"
    ln "$BIN/$b" "$ctx/bin/$b" 2>/dev/null || cp "$BIN/$b" "$ctx/bin/$b"
  done
}

inputs_hash() { # ctx
  local ctx=$1 base=""
  if grep -q "^FROM $BASE" "$ctx/Dockerfile"; then
    base=$(docker image inspect --format '{{.Id}}' "$BASE")
  fi
  { echo "base=$base"; (cd "$ctx" && find . -type f -print0 | sort -z | xargs -0 sha256sum);
    (cd "$ctx" && find . -print0 | sort -z | xargs -0 stat -c '%n %a'); } | sha256sum | cut -d' ' -f1
}

build_image() { # name dir bins
  local name=$1 dir=$2 bins=$3 ctx h cur t0
  [[ -f $IMAGES/$dir/Dockerfile ]] || die "missing $IMAGES/$dir/Dockerfile"
  ctx=$(mktemp -d "${TMPDIR:-/tmp}/kubelab-img.XXXXXX")
  make_context "$ctx" "$dir" "$bins"
  h=$(inputs_hash "$ctx")
  cur=$(docker image inspect --format '{{index .Config.Labels "kubelab.inputs"}}' "$name" 2>/dev/null || true)
  if [[ $cur == "$h" ]]; then
    log "$name: up to date"
  else
    log "$name: building"
    t0=$SECONDS
    docker build --label "kubelab.inputs=$h" -t "$name" "$ctx" >"$ctx.log" 2>&1 \
      || { tail -n 25 "$ctx.log" >&2; rm -rf "$ctx" "$ctx.log"; die "docker build of $name failed (ci/images/$dir/Dockerfile)"; }
    log "$name: built in $((SECONDS - t0))s"
    echo "$(date -u +%FT%TZ) image $name $((SECONDS - t0))s" >> "$K8S/build-times.txt"
  fi
  rm -rf "$ctx" "$ctx.log"
}

# expect <what> <regex> <command...>: the command's output must match
expect() {
  local what=$1 re=$2 out; shift 2
  out=$("$@" 2>&1) || die "test '$what' failed: $* -> ${out##*$'\n'}"
  grep -Eq -- "$re" <<<"$out" || die "test '$what': output of '$*' does not match /$re/: ${out//$'\n'/ | }"
}

test_images() {
  local -a r=(docker run --rm --network none)
  local v=${K8S_VERSION//./\\.} c code
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    expect "$c by bare name" "^Kubernetes $v\$" "${r[@]}" --entrypoint "$c" "registry.k8s.io/$c:$K8S_VERSION" --version
  done
  local kp="registry.k8s.io/kube-proxy:$K8S_VERSION"
  expect "kube-proxy" "^Kubernetes $v\$" "${r[@]}" --entrypoint /usr/local/bin/kube-proxy "$kp" --version
  expect "kube-proxy iptables" 'nf_tables' "${r[@]}" --entrypoint iptables "$kp" --version
  expect "kube-proxy ip6tables" 'nf_tables' "${r[@]}" --entrypoint ip6tables "$kp" --version
  expect "kube-proxy conntrack" '^conntrack' "${r[@]}" --entrypoint conntrack "$kp" --version
  expect "kube-proxy nft" '^nftables' "${r[@]}" --entrypoint nft "$kp" --version
  local e="registry.k8s.io/etcd:$ETCD_IMAGE_TAG"
  expect "etcd by bare name" "^etcd Version: ${ETCD_VERSION//./\\.}\$" "${r[@]}" "$e" etcd --version
  expect "etcdctl" "^etcdctl version: ${ETCD_VERSION//./\\.}\$" "${r[@]}" "$e" etcdctl version
  expect "coredns entrypoint" "^CoreDNS-${COREDNS_VERSION#v}\$" "${r[@]}" "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" -version
  local p="registry.k8s.io/pause:$PAUSE_VERSION"
  expect "pause" "${PAUSE_VERSION//./\\.}\$" "${r[@]}" "$p" -v
  # pause must stop cleanly (exit 0) on SIGTERM, as PID 1
  c=$(docker run -d --network none "$p") || die "cannot start $p"
  docker stop -t 10 "$c" >/dev/null
  code=$(docker inspect --format '{{.State.ExitCode}}' "$c"); docker rm "$c" >/dev/null
  [[ $code == 0 ]] || die "test 'pause stops on SIGTERM': exit code $code, want 0"
  # pause must reap orphans re-parented to it: a grandchild left behind in its PID
  # namespace exits, and no zombie may remain
  c=$(docker run -d --network none "$p") || die "cannot start $p"
  "${r[@]}" --pid "container:$c" "$BASE" sh -c 'sh -c "sleep 0.2 &"; sleep 0.6' \
    || { docker rm -f "$c" >/dev/null; die "cannot run $BASE in the PID namespace of $p"; }
  code=$("${r[@]}" --pid "container:$c" "$BASE" sh -c 'cat /proc/[0-9]*/stat' | awk '$3 == "Z"' || true)
  docker rm -f "$c" >/dev/null
  [[ -z $code ]] || die "test 'pause reaps zombies': zombie left in its PID namespace: $code"
  expect "local-path-provisioner" "${LOCAL_PATH_PROVISIONER_VERSION//./\\.}\$" "${r[@]}" \
    --entrypoint local-path-provisioner "kubelab/local-path-provisioner:$LOCAL_PATH_PROVISIONER_VERSION" --version
  expect "local-path-helper" '^ok$' "${r[@]}" "kubelab/local-path-helper:$LOCAL_PATH_PROVISIONER_VERSION" \
    sh -c 'mkdir -m 0777 -p /tmp/a/b && chmod 0700 /tmp/a/b && rm -rf /tmp/a && echo ok'
  local kr="kubelab/kube-router:$KUBE_ROUTER_VERSION"
  expect "kube-router" "version ${KUBE_ROUTER_VERSION//./\\.}," "${r[@]}" "$kr" --version
  expect "kube-router ipset" '/ipset$' "${r[@]}" --entrypoint sh "$kr" -c 'command -v ipset' 
  expect "kube-router iptables" 'nf_tables' "${r[@]}" --entrypoint iptables "$kr" --version
  local nd="kubelab/netd:$KUBELAB_NETD_VERSION"
  expect "kubelab-netd" "^kubelab-netd ${KUBELAB_NETD_VERSION//./\\.}\$" "${r[@]}" "$nd" -version
  expect "kubelab-netd ip" '^ip utility' "${r[@]}" --entrypoint ip "$nd" -V
  expect "kubelab-netd iptables" 'nf_tables' "${r[@]}" --entrypoint iptables "$nd" --version
  log "all image tests passed"
}

main() {
  local s name dir bins want
  [[ -d $BIN ]] || die "$BIN missing (run ci/build-k8s.sh first)"
  [[ -f $CA_BUNDLE ]] || die "$CA_BUNDLE missing (run ci/prerequisites.sh)"
  wait_for_docker
  docker image inspect "$BASE" >/dev/null 2>&1 || die "base image $BASE not in docker (run ci/base-images.sh)"
  for s in "${SPECS[@]}"; do
    read -r name dir bins <<<"$s"
    build_image "$name" "$dir" "$bins"
  done
  # every image kubeadm will look for must be among ours
  local -a names=()
  for s in "${SPECS[@]}"; do names+=("${s%% *}"); done
  while read -r want; do
    [[ -z $want ]] || printf '%s\n' "${names[@]}" | grep -qxF "$want" \
      || die "kubeadm $K8S_VERSION needs image $want, which this script does not build"
  done < <("$BIN/kubeadm" config images list --kubernetes-version "$K8S_VERSION")
  test_images
  printf '%s\n' "${names[@]}" > "$K8S/images.txt.tmp" && mv -f "$K8S/images.txt.tmp" "$K8S/images.txt"
  log "wrote $K8S/images.txt (${#names[@]} images)"
}
main "$@"
