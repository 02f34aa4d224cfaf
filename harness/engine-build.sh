#!/usr/bin/env bash
# Builds Docker Engine 29 (what Docker Desktop ships) offline from the Go module proxy, no binary download:
#   $ENGINE_BIN/dockerd, docker-proxy   github.com/moby/moby/v2 cmd/..., stamped as Engine $DOCKER_ENGINE_VERSION
#   $ENGINE_BIN/runc                    github.com/opencontainers/runc, the version moby's own Dockerfile pins
# The test harness runs them in a network namespace standing for the Docker VM (harness/vm-netns.sh), with
# Debian's containerd 1.6 (Engine 29 runs on it) and Debian's docker CLI (Engine 29 still accepts API 1.40+).
# Debian's runc 1.1 is too old: Engine 29 puts a time namespace into every container's spec, and runc 1.1
# fails with `namespace {"time" ""} does not exist`.
# Versions: harness/versions.env. Everything is cached under $HOSTREACH_CACHE/engine/<engine version>/
# (runc in runc-<version>/, linked from bin/); a binary is moved into place only once it is fully built, so a
# warm run only checks that the files exist. Go's module and build caches are the ones harness/k8s-build.sh uses.
# Usage: harness/engine-build.sh [build|path]   (both print the bin directory; path builds nothing)
set -euo pipefail
# shellcheck source=harness/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=harness/versions.env disable=SC1091  # not a .sh file, so not an input of `shellcheck harness/*.sh`
source "$HARNESS_DIR/versions.env"

ENGINE_DIR="$HOSTREACH_CACHE/engine/$DOCKER_ENGINE_VERSION"
ENGINE_BIN="$ENGINE_DIR/bin"
RUNC_DIR="$ENGINE_DIR/runc-$RUNC_VERSION"
MOBY_MODULE=github.com/moby/moby/v2
RUNC_MODULE=github.com/opencontainers/runc
ENGINE_BINARIES=(dockerd docker-proxy)

export GOMODCACHE="$HOSTREACH_CACHE/go/mod" GOCACHE="$HOSTREACH_CACHE/go/build"
export GOTOOLCHAIN=local GOFLAGS="-trimpath -buildvcs=false"
# The machine is shared: stay polite.
GO=(nice -n 10 go)
JOBS="${HOSTREACH_BUILD_JOBS:-2}"

all_present() { # dir name...
  local dir="$1" name
  shift
  for name in "$@"; do [[ -x "$dir/$name" ]] || return 1; done
}

runc_linked() { [[ -x "$ENGINE_BIN/runc" && "$(readlink "$ENGINE_BIN/runc")" == "../runc-$RUNC_VERSION/runc" ]]; }

built() { all_present "$ENGINE_BIN" "${ENGINE_BINARIES[@]}" && runc_linked; }

release_time() { # module version: the publication time the module proxy records
  sed -n 's/.*"Time": *"\([^"]*\)".*/\1/p' "$GOMODCACHE/cache/download/$1/@v/$2.info"
}

# go install of packages of one module@version into a temp dir, moved into place when all are built.
install_into() { # outdir ldflags tags pkg@version...
  local out="$1" ldflags="$2" tags="$3" tmp start=$SECONDS built
  shift 3
  mkdir -p "$out"
  tmp="$(mktemp -d "$out.tmp.XXXXXX")"
  GOBIN="$tmp" "${GO[@]}" install -p "$JOBS" -tags "$tags" -ldflags "$ldflags" "$@"
  built="$(find "$tmp" -mindepth 1 -printf '%f ')"
  mv -f "$tmp"/* "$out/"
  rmdir "$tmp"
  log "built ${built}in $((SECONDS - start))s"
}

build_engine() {
  all_present "$ENGINE_BIN" "${ENGINE_BINARIES[@]}" && return 0
  local name pkgs=() pkg="$MOBY_MODULE/dockerversion" ldflags
  log "building Docker Engine $DOCKER_ENGINE_VERSION ($MOBY_MODULE@$MOBY_VERSION): ${ENGINE_BINARIES[*]}"
  "${GO[@]}" mod download "$MOBY_MODULE@$MOBY_VERSION"
  for name in "${ENGINE_BINARIES[@]}"; do pkgs+=("$MOBY_MODULE/cmd/$name@$MOBY_VERSION"); done
  # The stamps of moby's own build (hack/make/.go-autogen). The module proxy does not carry the release's
  # git commit, so GitCommit names the module version that was built instead.
  ldflags="-s -w -X $pkg.Version=$DOCKER_ENGINE_VERSION -X $pkg.GitCommit=$MOBY_VERSION"
  ldflags+=" -X $pkg.BuildTime=$(release_time "$MOBY_MODULE" "$MOBY_VERSION") -X $pkg.PlatformName=hostreach-test-harness"
  # The tags of moby's static build (hack/make.sh), without cgo: the nftables firewall backend then runs the
  # `nft` tool (Debian package nftables) instead of linking libnftables; no journald log driver.
  CGO_ENABLED=0 install_into "$ENGINE_BIN" "$ldflags" "netgo osusergo static_build nri_no_wasm" "${pkgs[@]}"
}

build_runc() {
  runc_linked && return 0
  if [[ ! -x "$RUNC_DIR/runc" ]]; then
    log "building runc $RUNC_VERSION"
    [[ -f /usr/include/seccomp.h ]] || die "runc needs libseccomp's headers: apt-get install libseccomp-dev"
    # runc's `make static` (its Makefile) with moby's RUNC_BUILDTAGS=-libpathrs: cgo for nsenter and
    # libseccomp, linked statically so the binary does not depend on the host's library versions.
    CGO_ENABLED=1 GOFLAGS="$GOFLAGS -buildmode=pie" install_into "$RUNC_DIR" \
      "-s -w -X main.gitCommit=$RUNC_VERSION -linkmode external -extldflags -static-pie" \
      "seccomp urfave_cli_no_docs netgo osusergo" "$RUNC_MODULE@$RUNC_VERSION"
  fi
  mkdir -p "$ENGINE_BIN"
  ln -sfn "../runc-$RUNC_VERSION/runc" "$ENGINE_BIN/runc"
}

main() {
  local what="${1:-build}"
  case "$what" in
    path) printf '%s\n' "$ENGINE_BIN"; return 0 ;;
    build) ;;
    *) die "usage: $0 [build|path] (got '$what')" ;;
  esac
  # Warm: nothing to build, no lock to wait for (another build may hold it for minutes).
  built && { printf '%s\n' "$ENGINE_BIN"; return 0; }
  command -v go >/dev/null || die "go is not on PATH: install Go (see docs/testing.md) and rerun"
  mkdir -p "$HOSTREACH_CACHE"
  # One build at a time per cache, even when pytest workers and people start it at once.
  exec 9>"$HOSTREACH_CACHE/.engine-build.lock"
  flock 9
  build_engine
  build_runc
  printf '%s\n' "$ENGINE_BIN"
}

main "$@"
