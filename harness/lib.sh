#!/usr/bin/env bash
# Shared settings for the scripts of the test harness (this folder). Source it; do not run it.
# Everything heavy (venv, Kubernetes builds, images) is cached outside the clone, keyed by version.
# HARNESS_DIR: this folder, where the harness's scripts and files are; REPO_ROOT: the checkout.
HOSTREACH_CACHE="${HOSTREACH_CACHE:-/var/cache/hostreach-kind}"
HARNESS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HARNESS_DIR/.." && pwd)"
export HOSTREACH_CACHE HARNESS_DIR REPO_ROOT

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# The venv path is keyed by the hash of the pinned requirements, so a change of pins makes a new one.
venv_dir() {
  local key
  key="$(sha256sum "$REPO_ROOT/tests/requirements.txt" | cut -c1-12)"
  printf '%s/venv-py%s-%s\n' "$HOSTREACH_CACHE" "$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')" "$key"
}
