#!/usr/bin/env bash
# Assemble kubelab's kind node image ($OFFLINE_NODE_IMAGE) without any registry:
#   kubelab/node-base:bookworm (ci/base-images.sh)
#   + ci/node/rootfs/ (entrypoint, systemd units, containerd/CNI/crictl config, /kind/manifests)
#   + kubeadm, kubelet, kubectl, crictl from $KUBELAB_CACHE/k8s/$K8S_VERSION/bin (ci/build-k8s.sh)
#   + every image listed in $KUBELAB_CACHE/k8s/$K8S_VERSION/images.txt (ci/build-k8s-images.sh),
#     preloaded into the node's containerd (namespace k8s.io)
# then `docker commit` with the entrypoint. Skipped when the image already carries the
# hash of all these inputs (label kubelab.node-inputs).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
. "$here/versions.env"
KUBELAB_CACHE="${KUBELAB_CACHE:-/var/cache/kubelab}"
die() { echo "node-image: $*" >&2; exit 1; }

base=kubelab/node-base:bookworm
image="$OFFLINE_NODE_IMAGE"
k8s="$KUBELAB_CACHE/k8s/$K8S_VERSION"
images_txt="$k8s/images.txt"
binaries=(kubeadm kubelet kubectl crictl)
timeout="${KUBELAB_NODE_BUILD_TIMEOUT:-60}"

docker info >/dev/null 2>&1 || die "docker is not running (run ci/docker-engine.sh first)"
base_id="$(docker image inspect --format '{{.Id}}' "$base" 2>/dev/null)" \
  || die "base image $base missing (run ci/base-images.sh first)"
for b in "${binaries[@]}"; do
  [[ -x "$k8s/bin/$b" ]] || die "$k8s/bin/$b missing (run ci/build-k8s.sh first)"
done
[[ -s "$images_txt" ]] || die "$images_txt missing (run ci/build-k8s-images.sh first)"
mapfile -t images < <(grep -v -e '^[[:space:]]*$' -e '^#' "$images_txt")
image_ids=()
for i in "${images[@]}"; do
  id="$(docker image inspect --format '{{.Id}}' "$i" 2>/dev/null)" || die "image $i (listed in $images_txt) is not in docker (run ci/build-k8s-images.sh)"
  image_ids+=("$i=$id")
done
# the storage add-on's images, as named in images.txt
provisioner="$(grep -m1 -E '(^|/)local-path-provisioner:' <<<"$(printf '%s\n' "${images[@]}")" || true)"
helper="$(grep -m1 -E '(^|/)local-path-helper:' <<<"$(printf '%s\n' "${images[@]}")" || true)"
[[ -n "$provisioner" ]] || die "no local-path-provisioner image in $images_txt"
[[ -n "$helper" ]] || die "no local-path-helper image in $images_txt"
# kubeadm must find every image it wants preloaded (it cannot pull)
while read -r want; do
  [[ -n "$want" ]] || continue
  printf '%s\n' "${images[@]}" | grep -qxF "$want" || die "kubeadm $K8S_VERSION needs $want, which is not in $images_txt"
done < <("$k8s/bin/kubeadm" config images list --kubernetes-version "$K8S_VERSION" 2>/dev/null)
grep -q "sandbox_image = \"registry.k8s.io/pause:$PAUSE_VERSION\"" "$here/node/rootfs/etc/containerd/config.toml" \
  || die "ci/node/rootfs/etc/containerd/config.toml does not use registry.k8s.io/pause:$PAUSE_VERSION"

# --- inputs hash: skip when unchanged -------------------------------------------
inputs="$(
  {
    echo "$K8S_VERSION $base_id $provisioner $helper $POD_CIDR $KUBELAB_NETD_VERSION $KUBE_ROUTER_VERSION"
    printf '%s\n' "${image_ids[@]}"
    (cd "$k8s/bin" && sha256sum "${binaries[@]}")
    (cd "$here/node" && find rootfs default-storage.yaml.in default-cni.yaml.in -type f -print0 | sort -z | xargs -0 sha256sum)
    find "$here/node/rootfs" -type f -perm -u+x -printf '%P\n' | sort
    sha256sum <"${BASH_SOURCE[0]}"
  } | sha256sum | cut -c1-16
)"
have="$(docker image inspect --format '{{index .Config.Labels "kubelab.node-inputs"}}' "$image" 2>/dev/null || true)"
[[ "$have" == "$inputs" ]] && exit 0

# --- stage the files ----------------------------------------------------------------
stage="$(mktemp -d /tmp/kubelab-node-stage.XXXXXX)"
container="kubelab-node-build-$$"
log="/tmp/kubelab-node-image.log"
: >"$log"
cleanup() { docker rm -f -v "$container" >/dev/null 2>&1 || true; rm -rf "$stage"; }
trap cleanup EXIT

cp -a "$here/node/rootfs/." "$stage/"
mkdir -p "$stage/usr/bin" "$stage/kind/manifests" "$stage/etc/systemd/system/multi-user.target.wants"
for b in "${binaries[@]}"; do install -m 0755 "$k8s/bin/$b" "$stage/usr/bin/$b"; done
printf '%s' "$K8S_VERSION" >"$stage/kind/version"
sed -e "s|@PROVISIONER_IMAGE@|$provisioner|g" -e "s|@HELPER_IMAGE@|$helper|g" \
  "$here/node/default-storage.yaml.in" >"$stage/kind/manifests/default-storage.yaml"
sed -e "s|@POD_CIDR@|$POD_CIDR|g" -e "s|@KUBELAB_NETD_VERSION@|$KUBELAB_NETD_VERSION|g" \
  -e "s|@KUBE_ROUTER_VERSION@|$KUBE_ROUTER_VERSION|g" \
  "$here/node/default-cni.yaml.in" >"$stage/kind/manifests/default-cni.yaml"
! grep -n '@[A-Z_]*@' "$stage/kind/manifests/default-cni.yaml" || die "default-cni.yaml: a placeholder was left"
for u in containerd.service kubelet.service; do
  ln -sfn "/etc/systemd/system/$u" "$stage/etc/systemd/system/multi-user.target.wants/$u"
done
cat >"$stage/kind/images" <<LIST
# images preloaded in containerd (namespace k8s.io) by ci/node-image.sh
$(printf '%s\n' "${images[@]}")
LIST

# --- build container: files in, images into containerd, commit ---------------------
# The stop signal given to the build container is kept by `docker commit`
# (Docker 20.10's --change does not accept STOPSIGNAL).
# --init: containerd, started from an exec, must be reaped when it stops
docker run -d --init --name "$container" --entrypoint sleep --security-opt seccomp=unconfined \
  --stop-signal SIGRTMIN+3 "$base" infinity >>"$log" 2>&1 \
  || { tail -n 5 "$log" >&2; die "cannot start the build container from $base"; }
tar -C "$stage" --numeric-owner --owner=0 --group=0 -cf - . \
  | docker exec -i "$container" tar -C / --keep-directory-symlink -xf - >>"$log" 2>&1 \
  || { tail -n 5 "$log" >&2; die "copying files into the build container failed"; }

# containerd with the CRI plugin off (no snapshotter needed: images are imported
# unpacked-later, the node's containerd unpacks them on first use)
docker exec "$container" sh -c 'printf "version = 2\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n" >/tmp/containerd-build.toml
  nohup containerd --config /tmp/containerd-build.toml >/tmp/containerd-build.log 2>&1 &' >>"$log" 2>&1
deadline=$((SECONDS + timeout))
until docker exec "$container" ctr version >/dev/null 2>&1; do
  ((SECONDS < deadline)) || { docker exec "$container" tail -n 20 /tmp/containerd-build.log >&2 || true; die "containerd in the build container did not start within ${timeout}s"; }
  sleep 0.5
done
docker save "${images[@]}" \
  | docker exec -i "$container" ctr --namespace=k8s.io images import --all-platforms --no-unpack --digests - >>"$log" 2>&1 \
  || { tail -n 10 "$log" >&2; die "importing images into the node's containerd failed"; }
# every image must now be known to containerd under the name kubelet will ask for
have_images="$(docker exec "$container" ctr --namespace=k8s.io images list --quiet)"
for i in "${images[@]}"; do
  case "$i" in */*/*|*.*/*|localhost/*) ref="$i" ;; */*) ref="docker.io/$i" ;; *) ref="docker.io/library/$i" ;; esac
  grep -qxF "$ref" <<<"$have_images" || die "image $i missing from the node's containerd after import"
done
docker exec "$container" timeout "$timeout" sh -c 'pkill -x containerd; while pgrep -x containerd >/dev/null; do sleep 0.2; done
  rm -f /tmp/containerd-build.toml /tmp/containerd-build.log' >>"$log" 2>&1 \
  || die "stopping containerd in the build container failed"

docker commit \
  --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' \
  --change 'CMD []' \
  --change 'ENV container=docker' \
  --change "LABEL kubelab.node-inputs=$inputs kubelab.kubernetes-version=$K8S_VERSION" \
  "$container" "$image" >>"$log" 2>&1 \
  || { tail -n 5 "$log" >&2; die "docker commit of $image failed"; }
[[ "$(docker image inspect --format '{{.Config.StopSignal}}' "$image")" == SIGRTMIN+3 ]] \
  || die "$image lost its stop signal"
rm -f "$log"
