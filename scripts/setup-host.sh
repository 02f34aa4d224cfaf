#!/usr/bin/env bash
# Installs the Debian packages the test suite needs and makes sure a Docker engine answers.
# Idempotent: a machine that already has everything costs one `docker info`.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

# openssh-server and sudo: the SSH fleet of tests/harness/fleet.py (one sshd per network namespace, sudo with a password).
# libseccomp-dev and nftables: Docker Engine 29 (scripts/engine-build.sh builds runc with libseccomp; its nftables firewall backend runs nft).
# python3-venv: make expose makes its runtime venv with the system python3 (tests/integration/install).
DEB_PACKAGES=(docker.io busybox-static debootstrap iproute2 iptables git rsync curl ca-certificates shellcheck openssh-server sudo libseccomp-dev nftables python3-venv)

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
    printf '#!/bin/sh\n# written by scripts/setup-host.sh for one apt-get install; removed after it\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  command -v dockerd >/dev/null || die "no Docker engine answers and dockerd is not installed"
  mkdir -p "$HOSTREACH_CACHE"
  log "no Docker engine answers; starting dockerd (log: $HOSTREACH_CACHE/dockerd.log)"
  nohup dockerd >"$HOSTREACH_CACHE/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || die "dockerd did not answer within 60s; see $HOSTREACH_CACHE/dockerd.log"
fi
log "Docker engine: $(docker version --format '{{.Server.Version}}')"
