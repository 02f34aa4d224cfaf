#!/usr/bin/env bash
# Builds the binaries the test harness runs, offline from the Go module proxy (no binary download):
#   $K8S_BIN/   kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet kubeadm kubectl
#   $ETCD_BIN/  etcd etcdctl          $KIND_BIN/kind          $PAUSE_BIN (static C, from k8s.io/kubernetes)
#   $COREDNS_BIN (the CoreDNS kubeadm's addon/coredns phase deploys, for the kind node image)
# Versions: harness/versions.env. Paths: harness/k8s-paths.sh. Everything is cached under
# $HOSTREACH_CACHE keyed by version; a binary is moved into place only once it is fully built, so a
# warm run only checks that the files exist. Go's module and build caches live there too, so a
# rebuild after a version bump is incremental.
# Usage: harness/k8s-build.sh [all|tier1]   (tier1: only etcd, kube-apiserver, kube-controller-manager)
set -euo pipefail
# shellcheck source=harness/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=harness/k8s-paths.sh
source "$HARNESS_DIR/k8s-paths.sh"

TIER1_K8S=(kube-apiserver kube-controller-manager)
OTHER_K8S=(kube-scheduler kube-proxy kubelet kubeadm kubectl)

export GOMODCACHE="$HOSTREACH_CACHE/go/mod" GOCACHE="$HOSTREACH_CACHE/go/build"
export GOTOOLCHAIN=local GOFLAGS="-trimpath -buildvcs=false -mod=mod" CGO_ENABLED=0
# The machine is shared: stay polite.
GO=(nice -n 10 go)
JOBS="${HOSTREACH_BUILD_JOBS:-2}"

all_present() { # dir name...
  local dir="$1" name
  shift
  for name in "$@"; do [[ -x "$dir/$name" ]] || return 1; done
}

# Prints go.mod's "go" and "godebug" lines of a module, so a wrapper module built with them keeps
# the language version and GODEBUG defaults the upstream release was made with.
go_lines_of() { # module@version
  local gomod
  gomod="$("${GO[@]}" mod download -json "$1" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')"
  grep -E '^(go|godebug) ' "$gomod"
}

# Builds packages of a dependency module into a temp dir and moves each result into place.
# Names: the package's last path element (a trailing /vN is dropped by go build).
build_into() { # workdir outdir ldflags pkg...
  local work="$1" out="$2" ldflags="$3" tmp start built
  shift 3
  tmp="$(mktemp -d "$out.tmp.XXXXXX")"
  start=$SECONDS
  (cd "$work" && "${GO[@]}" build -p "$JOBS" -ldflags "$ldflags" -o "$tmp/" "$@")
  built="$(find "$tmp" -mindepth 1 -printf '%f ')"
  mv -f "$tmp"/* "$out/"
  rmdir "$tmp"
  log "built ${built}in $((SECONDS - start))s"
}

build_etcd() {
  all_present "$ETCD_BIN" etcd etcdctl && return 0
  local work="$HOSTREACH_CACHE/etcd/$ETCD_VERSION/src"
  log "building etcd $ETCD_VERSION"
  mkdir -p "$work" "$ETCD_BIN"
  # etcd's own go.mod files replace their sibling modules with ../ paths, so `go install` refuses them;
  # a wrapper module that only requires them is built with the published versions instead.
  {
    printf 'module hostreach.local/etcd-build\n\n'
    go_lines_of "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    printf '\nrequire (\n\tgo.etcd.io/etcd/server/v3 %s\n\tgo.etcd.io/etcd/etcdctl/v3 %s\n)\n' "$ETCD_VERSION" "$ETCD_VERSION"
  } >"$work/go.mod"
  build_into "$work" "$ETCD_BIN" "-s -w" go.etcd.io/etcd/server/v3 go.etcd.io/etcd/etcdctl/v3
  mv -f "$ETCD_BIN/server" "$ETCD_BIN/etcd"
}

k8s_workdir() {
  local work="$HOSTREACH_CACHE/k8s/$K8S_VERSION/src" upstream staging minor_patch
  mkdir -p "$work" "$K8S_BIN"
  [[ -f "$work/go.mod" ]] && { printf '%s\n' "$work"; return 0; }
  "${GO[@]}" mod download "k8s.io/kubernetes@$K8S_VERSION"
  upstream="$GOMODCACHE/k8s.io/kubernetes@$K8S_VERSION/go.mod"
  # k8s.io/kubernetes replaces its staging modules (k8s.io/api, client-go, ...) with ./staging paths,
  # which a dependency cannot use: replace each with its published twin v0.<minor>.<patch>.
  minor_patch="${K8S_VERSION#v1.}"
  staging="$(sed -n 's|^\t\(k8s.io/[a-z0-9-]*\) => \./staging/.*|\1|p' "$upstream")"
  [[ -n "$staging" ]] || die "no staging replace directives found in $upstream"
  {
    printf 'module hostreach.local/k8s-build\n\n'
    grep -E '^(go|godebug) ' "$upstream"
    printf '\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$K8S_VERSION"
    while read -r module; do printf '\t%s => %s v0.%s\n' "$module" "$module" "$minor_patch"; done <<<"$staging"
    printf ')\n'
  } >"$work/go.mod.tmp"
  mv "$work/go.mod.tmp" "$work/go.mod"
  printf '%s\n' "$work"
}

k8s_ldflags() {
  # The version stamps Kubernetes' own build writes (hack/lib/version.sh); kubeadm checks them.
  # The module proxy does not carry the release's git commit, so gitCommit keeps its unset
  # placeholder (`$Format:%H$`); kubeadm's version checks read gitVersion.
  local major minor date flags="-s -w" pkg
  major="${K8S_VERSION#v}"; major="${major%%.*}"
  minor="${K8S_VERSION#v*.}"; minor="${minor%%.*}"
  date="$(sed -n 's/.*"Time": *"\([^"]*\)".*/\1/p' "$GOMODCACHE/cache/download/k8s.io/kubernetes/@v/$K8S_VERSION.info")"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
  done
  printf '%s\n' "$flags"
}

build_k8s() { # binary...
  all_present "$K8S_BIN" "$@" && return 0
  local work pkgs=() name
  log "building Kubernetes $K8S_VERSION: $*"
  work="$(k8s_workdir)"
  for name in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$name"); done
  build_into "$work" "$K8S_BIN" "$(k8s_ldflags)" "${pkgs[@]}"
}

build_kind() {
  all_present "$KIND_BIN" kind && return 0
  local tmp start=$SECONDS
  log "building kind $KIND_VERSION"
  mkdir -p "$KIND_BIN"
  tmp="$(mktemp -d "$KIND_BIN.tmp.XXXXXX")"
  GOBIN="$tmp" GOFLAGS="-trimpath -buildvcs=false" "${GO[@]}" install -p "$JOBS" "sigs.k8s.io/kind@$KIND_VERSION"
  mv -f "$tmp/kind" "$KIND_BIN/kind"
  rmdir "$tmp"
  log "built kind in $((SECONDS - start))s"
}

build_coredns() {
  [[ -x "$COREDNS_BIN" ]] && return 0
  local tmp commit start=$SECONDS
  log "building CoreDNS $COREDNS_VERSION"
  mkdir -p "$(dirname "$COREDNS_BIN")"
  "${GO[@]}" mod download "github.com/coredns/coredns@$COREDNS_VERSION"
  # Stamped as CoreDNS's own Makefile does (-X coremain.GitCommit=<short commit>); the module proxy's
  # .info file records the release tag's commit.
  commit="$(sed -n 's/.*"Hash": *"\([0-9a-f]\{7\}\).*/\1/p' "$GOMODCACHE/cache/download/github.com/coredns/coredns/@v/$COREDNS_VERSION.info")"
  [[ -n "$commit" ]] || die "no commit in the module proxy's record of github.com/coredns/coredns@$COREDNS_VERSION"
  tmp="$(mktemp -d "$(dirname "$COREDNS_BIN")/tmp.XXXXXX")"
  # No replace directives in its go.mod, so `go install module@version` builds the release as published.
  GOBIN="$tmp" GOFLAGS="-trimpath -buildvcs=false" "${GO[@]}" install -p "$JOBS" \
    -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$commit" "github.com/coredns/coredns@$COREDNS_VERSION"
  mv -f "$tmp/coredns" "$COREDNS_BIN"
  rmdir "$tmp"
  log "built coredns in $((SECONDS - start))s"
}

build_pause() {
  [[ -x "$PAUSE_BIN" ]] && return 0
  log "building pause $PAUSE_VERSION"
  "${GO[@]}" mod download "k8s.io/kubernetes@$K8S_VERSION"
  mkdir -p "$(dirname "$PAUSE_BIN")"
  gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION" -o "$PAUSE_BIN.tmp" \
    "$GOMODCACHE/k8s.io/kubernetes@$K8S_VERSION/build/pause/linux/pause.c"
  strip "$PAUSE_BIN.tmp"
  mv -f "$PAUSE_BIN.tmp" "$PAUSE_BIN"
}

main() {
  local what="${1:-all}"
  [[ "$what" == all || "$what" == tier1 ]] || die "usage: $0 [all|tier1] (got '$what')"
  command -v go >/dev/null || die "go is not on PATH: install Go (see docs/testing.md) and rerun"
  # Warm: nothing to build, no lock to wait for (another build may hold it for minutes).
  if all_present "$ETCD_BIN" etcd etcdctl && all_present "$K8S_BIN" "${TIER1_K8S[@]}"; then
    [[ "$what" == tier1 ]] && return 0
    all_present "$K8S_BIN" "${OTHER_K8S[@]}" && all_present "$KIND_BIN" kind && [[ -x "$PAUSE_BIN" && -x "$COREDNS_BIN" ]] && return 0
  fi
  mkdir -p "$HOSTREACH_CACHE"
  # One build at a time per cache, even when pytest workers and people start it at once.
  exec 9>"$HOSTREACH_CACHE/.k8s-build.lock"
  flock 9
  build_etcd
  build_k8s "${TIER1_K8S[@]}"
  [[ "$what" == tier1 ]] && return 0
  build_k8s "${OTHER_K8S[@]}"
  build_kind
  build_pause
  build_coredns
}

main "$@"
