#!/usr/bin/env bash
# Builds the kind node image hostreach/kind-node:$K8S_VERSION locally, with no image pull:
#   1. a Debian rootfs made by debootstrap (systemd, containerd, runc, CNI plugins, iptables, ...),
#      cached as a tarball keyed by suite + mirror + package list;
#   2. the Kubernetes component images, tagged exactly as `kubeadm config images list` prints them,
#      each a tiny rootfs around the static binary, written as docker-archive tarballs;
#   3. the node image: the rootfs + kind's own base-image files (taken at build time from the kind
#      module in the Go module cache, never committed) + the Kubernetes binaries + the component
#      image tarballs (imported into containerd at boot, before kubelet starts) + the pod network
#      service hostreach-cni (kindnet's job: a bridge CNI config from the Node's podCIDR, routes to
#      the other nodes' pod ranges), then `docker load`ed with a label holding the build key.
# A warm run finds the image with the right key and costs a `docker image inspect`.
# Usage: harness/kind-node-image.sh [build|rootfs|print-image]
set -euo pipefail
# shellcheck source=harness/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=harness/kind-node/settings.sh
source "$HARNESS_DIR/kind-node/settings.sh"

FILES="$HARNESS_DIR/kind-node"
WORK="$HOSTREACH_CACHE/kind-node"
SUITE=bookworm
# The Debian archive this machine's apt already uses (the first source that is not the security archive), unless
# HOSTREACH_DEBIAN_MIRROR names another: no mirror is written here.
apt_mirror() {
  local file uris=""
  for file in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$file" ]] && uris+="$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' "$file")"$'\n'
  done
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$file" ]] && uris+="$(awk '$1 == "deb" { print ($2 ~ /^\[/ ? $3 : $2) }' "$file")"$'\n'
  done
  printf '%s' "$uris" | awk 'NF && !/-security/ { print; exit }'
}
MIRROR="${HOSTREACH_DEBIAN_MIRROR:-$(apt_mirror)}"
[ -n "$MIRROR" ] || die "no Debian archive found in /etc/apt/sources.list{,.d}: set HOSTREACH_DEBIAN_MIRROR to one"
# What kind's base image installs (images/base/Dockerfile), minus network storage and with Debian's
# own containerd, runc and CNI plugins instead of kind's builds of them.
PACKAGES=(
  systemd dbus
  containerd runc containernetworking-plugins
  conntrack iptables nftables iproute2 ethtool socat util-linux mount kmod
  libseccomp2 pigz e2fsprogs
  bash ca-certificates curl jq procps
)
# Kubernetes binaries that go into the node's /usr/bin.
NODE_BINARIES=(kubeadm kubelet kubectl)
# Where the components' binaries live, by image name (the last path element of kubeadm's repository).
declare -A COMPONENT_BINARY=(
  [kube-apiserver]="$K8S_BIN/kube-apiserver"
  [kube-controller-manager]="$K8S_BIN/kube-controller-manager"
  [kube-scheduler]="$K8S_BIN/kube-scheduler"
  [kube-proxy]="$K8S_BIN/kube-proxy"
  [etcd]="$ETCD_BIN/etcd"
  [pause]="$PAUSE_BIN"
  [coredns]="$COREDNS_BIN"
)

short_hash() { sha256sum | cut -c1-16; }

# 1. The Debian rootfs tarball, shared by every Kubernetes version.
rootfs_tar() {
  local key out tmp
  key="$(printf '%s\n' "$SUITE" "$MIRROR" "${PACKAGES[@]}" | short_hash)"
  out="$WORK/rootfs/$SUITE-$key.tar"
  if [[ ! -f "$out" ]]; then
    command -v debootstrap >/dev/null || die "debootstrap is not installed; run harness/setup-host.sh"
    [[ $(id -u) -eq 0 ]] || die "debootstrap needs root"
    mkdir -p "$WORK/rootfs"
    tmp="$(mktemp -d "$WORK/rootfs/tmp.XXXXXX")"
    log "debootstrap $SUITE from $MIRROR ($((${#PACKAGES[@]})) packages) into $tmp"
    local start=$SECONDS
    nice -n 10 debootstrap --variant=minbase --include="$(IFS=,; echo "${PACKAGES[*]}")" \
      "$SUITE" "$tmp/root" "$MIRROR" >"$tmp/debootstrap.log" 2>&1 ||
      die "debootstrap failed; see $tmp/debootstrap.log"
    rm -rf "$tmp/root/var/lib/apt/lists/"* "$tmp/root/var/cache/apt/"*.bin "$tmp/root/var/cache/apt/archives/"*.deb \
      "$tmp/root/var/log/"* "$tmp/root/usr/share/doc/"* "$tmp/root/usr/share/man/"*
    tar -C "$tmp/root" --numeric-owner --xattrs -cf "$tmp/rootfs.tar" .
    mv -f "$tmp/rootfs.tar" "$out"
    rm -rf "$tmp"
    log "rootfs $out ready in $((SECONDS - start))s"
  fi
  printf '%s\n' "$out"
}

# The kind module's source (its images/base/files are kind's node-image files), from the Go module cache.
kind_base_files() {
  local dir
  dir="$(GOMODCACHE="$HOSTREACH_CACHE/go/mod" GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/kind@$KIND_VERSION" |
    sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$dir/images/base/files" ]] || die "sigs.k8s.io/kind@$KIND_VERSION has no images/base/files (module dir: '$dir')"
  printf '%s\n' "$dir/images/base/files"
}

require_binaries() {
  local name missing=()
  for name in "${NODE_BINARIES[@]}"; do [[ -x "$K8S_BIN/$name" ]] || missing+=("$K8S_BIN/$name"); done
  for name in "${COMPONENT_BINARY[@]}"; do [[ -x "$name" ]] || missing+=("$name"); done
  ((${#missing[@]} == 0)) && return 0
  log "missing ${missing[*]}; building them with harness/k8s-build.sh"
  "$HARNESS_DIR/k8s-build.sh" all
}

# Copies the shared libraries that files of the node rootfs load into an image rootfs.
copy_libraries_of() { # node_root image_root path...
  local node_root="$1" image_root="$2" path lib
  shift 2
  for path in "$@"; do
    while read -r lib; do
      [[ -e "$image_root$lib" ]] || (cd "$node_root" && cp -L --parents ".$lib" "$image_root/")
    done < <(chroot "$node_root" ldd "$path" 2>/dev/null | grep -o '/[^ ]*' || true)
  done
}

# Copies files of the node rootfs, with the shared libraries they load, into an image rootfs.
copy_with_libraries() { # node_root image_root path...
  local node_root="$1" image_root="$2" path
  shift 2
  for path in "$@"; do
    (cd "$node_root" && cp -L --parents ".$path" "$image_root/")
  done
  copy_libraries_of "$node_root" "$image_root" "$@"
}

# A component image's rootfs: merged-/usr layout, root and nobody, /tmp, the binary on PATH.
component_rootfs() { # dir image_name binary node_root
  local dir="$1" name="$2" binary="$3" node_root="$4"
  mkdir -p "$dir"/{etc,run,tmp,usr/bin,usr/sbin,usr/lib,usr/lib64,usr/local/bin,var}
  ln -s ../run "$dir/var/run"
  chmod 1777 "$dir/tmp"
  ln -s usr/bin "$dir/bin"
  ln -s usr/sbin "$dir/sbin"
  ln -s usr/lib "$dir/lib"
  ln -s usr/lib64 "$dir/lib64"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >"$dir/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
  printf 'hosts: files dns\n' >"$dir/etc/nsswitch.conf"
  case "$name" in
    pause) install -m 0755 "$binary" "$dir/pause" ;;
    # CoreDNS's own image: /coredns and the CA bundle (its forward plugin may speak DNS over TLS). It runs
    # as root here, where upstream's runs as nonroot with a file capability; kubeadm's Deployment drops
    # every capability but NET_BIND_SERVICE either way.
    coredns)
      install -m 0755 "$binary" "$dir/coredns"
      install -D -m 0644 "$node_root/etc/ssl/certs/ca-certificates.crt" "$dir/etc/ssl/certs/ca-certificates.crt"
      ;;
    etcd) install -m 0755 "$binary" "$(dirname "$binary")/etcdctl" "$dir/usr/local/bin/" ;;
    *) install -m 0755 "$binary" "$dir/usr/local/bin/$name" ;;
  esac
  if [[ "$name" == kube-proxy ]]; then
    # kube-proxy runs iptables/ip6tables(-save|-restore) and conntrack; a static busybox provides the
    # shell and tools of the backend-picking wrapper.
    install -m 0755 "$(command -v busybox)" "$dir/usr/bin/busybox"
    local tool
    for tool in sh grep ln mv; do ln -s busybox "$dir/usr/bin/$tool"; done
    copy_with_libraries "$node_root" "$dir" /usr/sbin/xtables-legacy-multi /usr/sbin/xtables-nft-multi /usr/sbin/conntrack
    cp -a "$node_root/usr/lib/x86_64-linux-gnu/xtables" "$dir/usr/lib/x86_64-linux-gnu/"
    # The extensions load libraries of their own (libxt_statistic.so, the match of every Service with more
    # than one endpoint, needs libm): without them iptables-restore fails and kube-proxy syncs no rule.
    local extensions
    mapfile -t extensions < <(cd "$node_root" && find usr/lib/x86_64-linux-gnu/xtables -name '*.so' -type f -printf '/%p\n')
    copy_libraries_of "$node_root" "$dir" "${extensions[@]}"
    cp -a "$node_root/etc/protocols" "$node_root/etc/services" "$node_root/etc/ethertypes" "$dir/etc/" 2>/dev/null || true
    install -m 0755 "$FILES/iptables-wrapper" "$dir/usr/sbin/iptables-wrapper"
    for tool in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
      ln -s iptables-wrapper "$dir/usr/sbin/$tool"
    done
  fi
}

# Writes one docker-archive tarball per image kubeadm will run, named as kubeadm prints them.
component_images() { # out_dir node_root
  local out="$1" node_root="$2" ref name entrypoint
  mkdir -p "$out"
  while read -r ref; do
    name="${ref##*/}"
    name="${name%%:*}"
    [[ -n "${COMPONENT_BINARY[$name]:-}" ]] || die "kubeadm lists $ref, which this script does not know how to build"
    if [[ "$name" == coredns && "${ref##*:}" != "$COREDNS_VERSION" ]]; then
      die "kubeadm expects $ref, but harness/versions.env pins COREDNS_VERSION=$COREDNS_VERSION"
    fi
    case "$name" in
      pause | coredns) entrypoint="[\"/$name\"]" ;;
      *) entrypoint="[\"/usr/local/bin/$name\"]" ;;
    esac
    rm -rf "$out/rootfs"
    component_rootfs "$out/rootfs" "$name" "${COMPONENT_BINARY[$name]}" "$node_root"
    python3 "$FILES/docker-archive.py" "$out/rootfs" "$ref" "$out/$name.tar" --entrypoint "$entrypoint" \
      --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    printf '%s\n' "$ref" >>"$out/refs"
    log "component image $ref ($(du -h "$out/$name.tar" | cut -f1))"
  done < <("$K8S_BIN/kubeadm" config images list --kubernetes-version "$K8S_VERSION")
  rm -rf "$out/rootfs"
  grep -q '/pause:' "$out/refs" || die "kubeadm listed no pause image"
}

# Turns the extracted Debian rootfs into a kind node: kind's files laid out as kind's base image
# does, Debian's containerd where kind's units expect it, the Kubernetes binaries, preloaded images.
assemble_node() { # root kind_files images_dir
  local root="$1" kind_files="$2" images="$3" pause_ref
  install -d -m 0755 "$root/kind" "$root/kind/bin" "$root/kind/images" "$root/LICENSES" "$root/etc/kubernetes/manifests"
  install -m 0755 "$kind_files"/usr/local/bin/* "$root/usr/local/bin/"
  install -m 0644 "$kind_files"/kind/README.txt "$root/kind/"
  install -m 0755 "$kind_files"/kind/bin/* "$root/kind/bin/"
  install -m 0644 "$kind_files"/LICENSES/* "$root/LICENSES/"
  install -m 0644 "$kind_files"/etc/crictl.yaml "$root/etc/"
  install -D -m 0644 -t "$root/etc/containerd" "$kind_files"/etc/containerd/*
  install -D -m 0644 -t "$root/etc/default" "$kind_files"/etc/default/*
  install -D -m 0644 -t "$root/etc/sysctl.d" "$kind_files"/etc/sysctl.d/*
  install -D -m 0644 -t "$root/etc/systemd/system" "$kind_files"/etc/systemd/system/*.service "$kind_files"/etc/systemd/system/*.slice
  install -D -m 0644 -t "$root/etc/systemd/system/kubelet.service.d" "$kind_files"/etc/systemd/system/kubelet.service.d/* \
    "$FILES/20-hostreach-preload.conf"
  install -m 0644 "$FILES/hostreach-preload-images.service" "$FILES/hostreach-cni.service" "$root/etc/systemd/system/"
  install -m 0755 "$FILES/hostreach-entrypoint" "$FILES/hostreach-cni" "$root/usr/local/bin/"
  # kind's units and scripts call /usr/local/bin/containerd; Debian installs it in /usr/bin.
  ln -sf /usr/bin/containerd "$root/usr/local/bin/containerd"
  # containerd's CRI looks for CNI plugins in /opt/cni/bin; Debian installs them in /usr/lib/cni.
  install -d "$root/opt/cni"
  ln -sfn /usr/lib/cni "$root/opt/cni/bin"
  # No CNI config in /etc/cni/net.d yet: hostreach-cni writes it from this template once the Node has its
  # podCIDR, so the node is Ready only when its pods can get addresses.
  install -d "$root/etc/cni/net.d"
  install -D -m 0644 -t "$root/kind/hostreach-cni" "$FILES/10-hostreach-bridge.conflist"
  # containerd: the node lacks CAP_SYS_RESOURCE, so it may only raise oom_score_adj; the sandbox
  # image is the pause image kubeadm expects (preloaded).
  pause_ref="$(grep '/pause:' "$images/refs")"
  sed -i -e 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' \
    -e "s|^\([[:space:]]*sandbox_image = \).*|\1\"$pause_ref\"|" "$root/etc/containerd/config.toml"
  grep -q "sandbox_image = \"$pause_ref\"" "$root/etc/containerd/config.toml" || die "could not set containerd's sandbox_image"
  grep -q 'restrict_oom_score_adj = true' "$root/etc/containerd/config.toml" || die "could not set restrict_oom_score_adj"
  chroot "$root" ctr oci spec | chroot "$root" jq \
    '.hooks.createContainer[.hooks.createContainer| length] |= . + {"path": "/kind/bin/mount-product-files.sh"} | del(.process.rlimits)' \
    >"$root/etc/containerd/cri-base.json"
  install -m 0755 "${NODE_BINARIES[@]/#/$K8S_BIN/}" "$root/usr/bin/"
  install -m 0644 "$images"/*.tar "$root/kind/images/"
  printf '%s\n' "$K8S_VERSION" >"$root/kind/version"
  # systemd as kind's base image sets it up: no units from the packages' wants, no kmsg in journald.
  find "$root/lib/systemd/system/sysinit.target.wants/" -name systemd-tmpfiles-setup.service -delete
  rm -f "$root"/lib/systemd/system/multi-user.target.wants/* "$root"/etc/systemd/system/*.wants/* \
    "$root"/lib/systemd/system/local-fs.target.wants/* "$root"/lib/systemd/system/sockets.target.wants/*udev* \
    "$root"/lib/systemd/system/sockets.target.wants/*initctl* "$root"/lib/systemd/system/basic.target.wants/*
  echo "ReadKMsg=no" >>"$root/etc/systemd/journald.conf"
  [[ -e "$root/sbin/init" ]] || ln -s /usr/lib/systemd/systemd "$root/sbin/init"
  chroot "$root" systemctl --quiet enable kubelet.service containerd.service undo-mount-hacks.service \
    hostreach-preload-images.service hostreach-cni.service >/dev/null
  chroot "$root" systemctl mask systemd-binfmt.service >/dev/null 2>&1
}

build_key() { # rootfs_tar
  {
    printf '%s\n' "$1" "$K8S_VERSION" "$ETCD_VERSION" "$PAUSE_VERSION" "$KIND_VERSION" "$COREDNS_VERSION"
    cat "$0" "$FILES"/*
  } | short_hash
}

build() {
  local rootfs key current start=$SECONDS
  rootfs="$(rootfs_tar)"
  key="$(build_key "$rootfs")"
  current="$(docker image inspect -f '{{index .Config.Labels "hostreach.kind.build-key"}}' "$KIND_NODE_IMAGE" 2>/dev/null || true)"
  if [[ "$current" == "$key" ]]; then
    log "$KIND_NODE_IMAGE is up to date (build key $key)"
    return 0
  fi
  require_binaries
  local kind_files
  kind_files="$(kind_base_files)"
  local staging
  staging="$(mktemp -d "$WORK/build.XXXXXX")"
  # shellcheck disable=SC2064 # expanded now: $staging is local to this function
  trap "rm -rf '$staging'" EXIT
  log "assembling $KIND_NODE_IMAGE (build key $key) in $staging"
  mkdir "$staging/root"
  tar -C "$staging/root" --numeric-owner -xf "$rootfs"
  component_images "$staging/images" "$staging/root"
  assemble_node "$staging/root" "$kind_files" "$staging/images"
  python3 "$FILES/docker-archive.py" "$staging/root" "$KIND_NODE_IMAGE" "$staging/node.tar" \
    --entrypoint '["/usr/local/bin/hostreach-entrypoint", "/usr/local/bin/entrypoint", "/sbin/init"]' \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env container=docker \
    --stop-signal SIGRTMIN+3 --label "hostreach.kind.build-key=$key"
  docker load -q -i "$staging/node.tar" >/dev/null
  # Earlier builds lost their tag to this one: remove those no container uses any more.
  docker image prune -f --filter label=hostreach.kind.build-key >/dev/null
  log "$KIND_NODE_IMAGE built in $((SECONDS - start))s ($(docker image inspect -f '{{.Size}}' "$KIND_NODE_IMAGE" | numfmt --to=iec))"
}

main() {
  case "${1:-build}" in
    build) build ;;
    rootfs) rootfs_tar ;;
    print-image) printf '%s\n' "$KIND_NODE_IMAGE" ;;
    *) die "usage: $0 [build|rootfs|print-image]" ;;
  esac
}

[[ "${BASH_SOURCE[0]}" != "$0" ]] || main "$@"
