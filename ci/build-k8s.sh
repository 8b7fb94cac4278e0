#!/usr/bin/env bash
# Builds the Kubernetes binaries and the add-ons a kubelab node image needs, from the
# Go module proxy (and gcc for pause), into ${KUBELAB_CACHE}/k8s/${K8S_VERSION}/bin/.
#
#   ci/build-k8s.sh              # every component
#   ci/build-k8s.sh kubeadm etcd # only these
#
# A component is skipped when its cached binary reports the pinned version and was built
# from the same recipe (tools module go.mod/go.sum, flags, Go version; the stamp is kept
# in bin/.stamps/<component>).
# The Go tools modules it builds from are committed under ci/gomod/<component>/
# (regenerate them with ci/gomod/gen-modules.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
die() { echo "build-k8s: error: $*" >&2; exit 1; }
log() { echo "build-k8s: $*" >&2; }

CACHE=${KUBELAB_CACHE:-/var/cache/kubelab}
OUT="$CACHE/k8s/$K8S_VERSION/bin"
TIMES="$CACHE/k8s/$K8S_VERSION/build-times.txt"
GOMOD="$here/gomod"
K8S_COMPONENTS=(kubeadm kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet)
ALL=("${K8S_COMPONENTS[@]}" etcd crictl coredns local-path-provisioner pause router kubelab-netd)

command -v go >/dev/null || die "go not found on PATH"
mkdir -p "$OUT" || die "cannot create $OUT"
export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" GOTOOLCHAIN=${GOTOOLCHAIN:-auto}
# as Kubernetes' own release builds (hack/lib/golang.sh): grpcnotrace drops x/net/trace
K8S_TAGS=selinux,notest,grpcnotrace

# The version string each binary must report, and how to ask it.
report_version() { # component binary
  local c=$1 b=$2
  case $c in
    kubeadm) "$b" version -o short ;;
    kubectl) "$b" version --client -o json | sed -n 's/^ *"gitVersion": "\(.*\)",$/\1/p' | head -1 ;;
    kube-*|kubelet) "$b" --version | awk '{print $2}' ;;
    etcd) "$b" --version | awk '/^etcd Version:/{print $3}'; "$b"ctl version | awk '/^etcdctl version:/{print $3}' ;;
    crictl) "$b" --version | awk '{print $3}' ;;
    coredns) "$b" -version | sed -n 's/^CoreDNS-\(.*\)$/v\1/p' ;;
    local-path-provisioner) "$b" --version | awk '{print $NF}' ;;
    pause) "$b" -v | awk '{print $NF}' ;;
    router) "$b" --version 2>&1 | sed -n 's/^Running .* version \([^,]*\),.*/\1/p' ;;
    kubelab-netd) "$b" -version | awk '{print $2}' ;;
  esac
}
expected_version() { # component
  case $1 in
    kubeadm|kubectl|kube-*|kubelet) echo "$K8S_VERSION" ;;
    etcd) printf '%s\n%s\n' "$ETCD_VERSION" "$ETCD_VERSION" ;;
    crictl) echo "$CRICTL_VERSION" ;;
    coredns) echo "$COREDNS_VERSION" ;;
    local-path-provisioner) echo "$LOCAL_PATH_PROVISIONER_VERSION" ;;
    pause) echo "$PAUSE_VERSION" ;;
    router) echo "$KUBE_ROUTER_VERSION" ;;
    kubelab-netd) echo "$KUBELAB_NETD_VERSION" ;;
  esac
}
# what a component's binary is built from; a change of any of it means a rebuild
recipe() { # component
  local c=$1 mod="$GOMOD/$1"
  go version
  echo "CGO_ENABLED=$CGO_ENABLED GOFLAGS=$GOFLAGS"
  case $c in
    kubeadm|kubectl|kube-*|kubelet) echo "tags=$K8S_TAGS ldflags=$(k8s_ldflags)"; cat "$mod/go.mod" "$mod/go.sum" ;;
    pause) gcc --version | head -1; declare -f build_pause; cat "$here/pause/pause.c"; echo "$PAUSE_VERSION" ;;
    kubelab-netd) declare -f build_one | sed -n "/^ *$c)/,/;;/p"; cat "$mod/go.mod" "$mod/main.go" ;;
    router) declare -f build_one | sed -n "/^ *$c)/,/;;/p"; cat "$mod/go.mod" "$mod/go.sum" "$mod/main.go" ;;
    *) declare -f build_one | sed -n "/^ *$c)/,/;;/p"; cat "$mod/go.mod" "$mod/go.sum" ;;
  esac
}
stamp() { recipe "$1" | sha256sum | cut -d' ' -f1; }
is_current() { # component
  local c=$1
  [[ -x "$OUT/$c" ]] || return 1
  [[ -f "$OUT/.stamps/$c" && "$(cat "$OUT/.stamps/$c")" == "$(stamp "$c")" ]] || return 1
  [[ $c != etcd || -x "$OUT/etcdctl" ]] || return 1
  [[ "$(report_version "$c" "$OUT/$c" 2>/dev/null)" == "$(expected_version "$c")" ]]
}

# release time of k8s.io/kubernetes@K8S_VERSION from the module proxy: a reproducible buildDate
k8s_build_date() {
  local info
  info=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"Info": "\(.*\)",$/\1/p')
  sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$info"
}

k8s_ldflags() {
  local v=$K8S_VERSION major minor date pkg flags="-s -w"
  major=${v#v}; major=${major%%.*}
  minor=${v#v*.}; minor=${minor%%.*}
  date=$(k8s_build_date) || die "cannot read the release date of k8s.io/kubernetes@$K8S_VERSION"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X '$pkg.gitVersion=$v' -X '$pkg.gitMajor=$major' -X '$pkg.gitMinor=$minor'"
    flags+=" -X '$pkg.gitCommit=' -X '$pkg.gitTreeState=archive' -X '$pkg.buildDate=$date'"
  done
  echo "$flags"
}

build_k8s() { # component
  local c=$1 mod="$GOMOD/$1" ldflags
  [[ -f $mod/go.mod ]] || die "missing tools module $mod (run ci/gomod/gen-modules.sh)"
  ldflags=$(k8s_ldflags) || exit 1
  (cd "$mod" && go build -trimpath -tags "$K8S_TAGS" -ldflags "$ldflags" \
     -o "$OUT/.$c.tmp" "k8s.io/kubernetes/cmd/$c") || die "go build of $c failed"
  mv -f "$OUT/.$c.tmp" "$OUT/$c"
}

# go build <main package> from ci/gomod/<module> into $OUT/<name>: module name pkg [ldflags]
build_go() {
  local mod="$GOMOD/$1" name=$2 pkg=$3 ldflags="-s -w ${4:-}"
  [[ -f $mod/go.mod ]] || die "missing tools module $mod (run ci/gomod/gen-modules.sh)"
  (cd "$mod" && go build -trimpath -ldflags "$ldflags" -o "$OUT/.$name.tmp" "$pkg") \
    || die "go build of $pkg failed"
  mv -f "$OUT/.$name.tmp" "$OUT/$name"
}

build_pause() {
  command -v gcc >/dev/null || die "gcc not found (run ci/prerequisites.sh)"
  gcc -static -O2 -Wall -Wextra -DPAUSE_VERSION="\"$PAUSE_VERSION\"" \
      -o "$OUT/.pause.tmp" "$here/pause/pause.c" || die "gcc -static of ci/pause/pause.c failed (is libc6-dev installed?)"
  strip "$OUT/.pause.tmp" 2>/dev/null || true
  mv -f "$OUT/.pause.tmp" "$OUT/pause"
}

build_one() { # component
  case $1 in
    kubeadm|kubectl|kube-*|kubelet) build_k8s "$1" ;;
    etcd) build_go etcd etcd go.etcd.io/etcd/server/v3
          build_go etcd etcdctl go.etcd.io/etcd/etcdctl/v3 ;;
    coredns) build_go coredns coredns github.com/coredns/coredns ;;
    crictl) build_go crictl crictl sigs.k8s.io/cri-tools/cmd/crictl \
              "-X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION" ;;
    local-path-provisioner) build_go local-path-provisioner local-path-provisioner \
              github.com/rancher/local-path-provisioner "-X main.VERSION=$LOCAL_PATH_PROVISIONER_VERSION" ;;
    pause) build_pause ;;
    router) build_go router router kubelab.local/ci/gomod/router \
              "-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION" ;;
    kubelab-netd) build_go kubelab-netd kubelab-netd kubelab.local/ci/gomod/kubelab-netd \
              "-X main.Version=$KUBELAB_NETD_VERSION" ;;
    *) die "unknown component '$1' (known: ${ALL[*]})" ;;
  esac
}

main() {
  local comps=("$@") c t0 t1 got
  ((${#comps[@]})) || comps=("${ALL[@]}")
  for c in "${comps[@]}"; do
    if is_current "$c"; then log "$c: cached ($(expected_version "$c" | head -1))"; continue; fi
    log "$c: building"
    t0=$(date +%s)
    build_one "$c"
    t1=$(date +%s)
    got=$(report_version "$c" "$OUT/$c" 2>&1) || true
    [[ "$got" == "$(expected_version "$c")" ]] \
      || die "$c built but reports version '${got//$'\n'/ }', expected '$(expected_version "$c" | head -1)'"
    mkdir -p "$OUT/.stamps" && stamp "$c" > "$OUT/.stamps/$c"
    log "$c: built in $((t1 - t0))s, version $(head -1 <<<"$got")"
    echo "$(date -u +%FT%TZ) $c $((t1 - t0))s" >> "$TIMES"
  done
  log "all done: $OUT"
}
main "$@"
