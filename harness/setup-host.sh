#!/usr/bin/env bash
# Installs the Debian packages the test suite needs and makes sure a Docker engine answers (Engine 29 unless one does).
# Idempotent: a machine that already has everything costs one `docker info`.
set -euo pipefail
# shellcheck source=harness/lib.sh
source "$(dirname "$0")/lib.sh"

# openssh-server and sudo: the SSH fleet of harness/fleet.py (one sshd per network namespace, sudo with a password).
# libseccomp-dev and nftables: Docker Engine 29 (harness/engine-build.sh builds runc with libseccomp; its nftables firewall backend runs nft).
# python3-venv: make expose makes its runtime venv with the system python3 (tests/integration/install).
# docker.io: the docker CLI and containerd that Engine 29 runs with, and the VM model's Debian engine 20.10.
# openjdk-17-jre-headless: ansible-rulebook's rules engine (drools_jpy) runs in a JVM (tests/integration/kind/test_watch_eda.py).
DEB_PACKAGES=(docker.io busybox-static debootstrap iproute2 iptables git rsync curl ca-certificates shellcheck openssh-server sudo libseccomp-dev nftables python3-venv
  openjdk-17-jre-headless)

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  [[ $(id -u) -eq 0 ]] || die "missing Debian packages (${missing[*]}); run as root or install them"
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  # No service starts from a package install (openssh-server would start an sshd on 0.0.0.0:22): a policy-rc.d
  # that denies everything is put in place for the install unless the machine has its own (Docker images do).
  policy=/usr/sbin/policy-rc.d
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# written by harness/setup-host.sh for one apt-get install; removed after it\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The host's engine when none answers: Docker Engine 29, what Docker Desktop ships, so that every test meets the engine
# users have (built and cached by harness/engine-build.sh, with Debian's containerd and docker CLI);
# HOSTREACH_HOST_ENGINE=20.10 starts Debian's dockerd instead. An engine that already answers is used as it is.
start_engine() {
  local engine="${HOSTREACH_HOST_ENGINE:-29}" dockerd bin path="$PATH"
  case "$engine" in
    29)
      bin="$("$HARNESS_DIR/engine-build.sh" build)"
      dockerd="$bin/dockerd" path="$bin:$PATH" # its docker-proxy and runc
      ;;
    20.10) dockerd="$(command -v dockerd)" || die "Debian's dockerd is not installed (package docker.io)" ;;
    *) die "HOSTREACH_HOST_ENGINE must be 29 or 20.10, not '$engine'" ;;
  esac
  mkdir -p "$HOSTREACH_CACHE"
  log "no Docker engine answers; starting $("$dockerd" --version) (log: $HOSTREACH_CACHE/dockerd.log)"
  PATH="$path" nohup "$dockerd" >"$HOSTREACH_CACHE/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && return 0; sleep 1; done
  die "dockerd did not answer within 60s; see $HOSTREACH_CACHE/dockerd.log"
}

docker info >/dev/null 2>&1 || start_engine
log "Docker engine: $(docker version --format '{{.Server.Version}}')"
