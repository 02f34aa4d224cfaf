#!/usr/bin/env bash
# `make expose`, `make teardown`, `make doctor`: the collection's playbooks from this checkout, as the user, with a
# small runtime of their own in the user's cache (no root, no apt, none of the test tools):
#   scripts/runtime.sh expose|teardown|doctor|watch [ansible-playbook arguments...]
# `watch` runs the watch agent in the foreground with those arguments (extensions/watch/agent.py): one full
# expose, then a narrowed expose for every change, until Ctrl-C.
# The cache: $HOSTREACH_CACHE, else ~/Library/Caches/hostreach-kind (macOS), else ${XDG_CACHE_HOME:-~/.cache}/hostreach-kind.
# There: a venv with what runs (scripts/runtime-requirements.txt: ansible-core and the docker and kubernetes SDKs),
# keyed by that file's hash; the two collections the roles use (community.docker, community.general, taken from the
# `ansible` package on PyPI at the versions that file names, so no Galaxy server is needed); and this collection,
# installed from the checkout on every run (seconds). A rerun reuses the venv and the collections.
# On macOS in connector mode (not OrbStack) the one root step needs the sudo password: --ask-become-pass is added
# unless the arguments already ask for it or say hostreach_kind_mode=direct.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PLAYBOOK="${1:?usage: scripts/runtime.sh expose|teardown|doctor|watch [ansible-playbook arguments...]}"
shift
case "$PLAYBOOK" in expose | teardown | doctor | watch) ;; *) echo "unknown playbook '$PLAYBOOK': expose, teardown, doctor or watch" >&2; exit 2 ;; esac

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

cache_dir() {
  if [[ -n "${HOSTREACH_CACHE:-}" ]]; then printf '%s\n' "$HOSTREACH_CACHE"
  elif [[ "$(uname -s)" == Darwin ]]; then printf '%s\n' "$HOME/Library/Caches/hostreach-kind"
  else printf '%s\n' "${XDG_CACHE_HOME:-$HOME/.cache}/hostreach-kind"; fi
}

# The python3 to make the venv with: the first on PATH that has the venv module (Homebrew's, the system's).
find_python() {
  local candidate
  for candidate in python3 /opt/homebrew/bin/python3 /usr/local/bin/python3 /usr/bin/python3; do
    command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import venv, ensurepip' 2>/dev/null && { command -v "$candidate"; return 0; }
  done
  die "no python3 with the venv module found (Debian/Ubuntu: apt install python3-venv; macOS: brew install python)"
}

REQUIREMENTS="$REPO_ROOT/scripts/runtime-requirements.txt"
CACHE="$(cache_dir)"
PYTHON="$(find_python)"
KEY="$("$PYTHON" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest()[:12])' <"$REQUIREMENTS")"
VENV="$CACHE/runtime-$KEY"
COLLECTIONS="$VENV/collections"

make_venv() {
  [[ -f "$VENV/.complete" ]] && return 0
  log "making the runtime venv $VENV (once; later runs reuse it)"
  rm -rf "$VENV"
  mkdir -p "$CACHE"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQUIREMENTS"
  # community.docker and community.general as the `ansible` package ships them (its other collections are not kept).
  local wheel_dir
  wheel_dir="$(mktemp -d)"
  "$VENV/bin/pip" download -q --disable-pip-version-check --no-deps -d "$wheel_dir" "$(sed -n 's/^# collections from: //p' "$REQUIREMENTS")"
  mkdir -p "$COLLECTIONS"
  "$VENV/bin/python" - "$wheel_dir"/*.whl "$COLLECTIONS" <<'PY'
import sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
keep = ("ansible_collections/community/docker/", "ansible_collections/community/general/")
with zipfile.ZipFile(wheel) as archive:
    archive.extractall(dest, [name for name in archive.namelist() if name.startswith(keep)])
PY
  rm -rf "$wheel_dir"
  touch "$VENV/.complete"
}

install_collection() {
  local build
  build="$(mktemp -d)"
  "$VENV/bin/ansible-galaxy" collection build --force --output-path "$build" "$REPO_ROOT" >/dev/null
  "$VENV/bin/ansible-galaxy" collection install --force --no-deps -p "$COLLECTIONS" "$build"/hostreach-kind-*.tar.gz >/dev/null
  rm -rf "$build"
}

# No kind cluster, no guessing: say so, and how to make one (checked only when the docker CLI can tell).
check_cluster() {
  command -v docker >/dev/null 2>&1 || return 0
  local nodes
  nodes="$(docker ps --filter label=io.x-k8s.kind.cluster --format '{{.Names}}' 2>/dev/null)" || return 0
  [[ -n "$nodes" ]] && return 0
  local hint="kind create cluster"
  [[ "$(uname -s)" == Linux ]] && hint+=" (or 'make demo' in this checkout: a kind cluster with a demo app, built without any registry)"
  die "no kind cluster runs on the Docker engine ('docker ps' shows no kind node). Create one: $hint; then run 'make $PLAYBOOK' again."
}

become_args() {
  [[ "$(uname -s)" == Darwin ]] || return 0
  local arg
  for arg in "$@"; do
    case "$arg" in -K | --ask-become-pass | *hostreach_kind_mode=direct*) return 0 ;; esac
  done
  docker context inspect 2>/dev/null | grep -qi orbstack && return 0
  printf '%s\n' --ask-become-pass
}

make_venv
install_collection
[[ "$PLAYBOOK" == doctor ]] || check_cluster
become="$(become_args "$@")" # macOS's bash 3.2 has no mapfile and no empty arrays under set -u
export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS"
if [[ "$PLAYBOOK" == watch ]]; then
  # The agent runs expose again and again with no terminal to ask on: no --ask-become-pass (README: the watch agent).
  PYTHONPATH="$COLLECTIONS" exec "$VENV/bin/python" -m ansible_collections.hostreach.kind.extensions.watch.agent -- "$@"
fi
exec "$VENV/bin/ansible-playbook" "hostreach.kind.$PLAYBOOK" ${become:+"$become"} "$@"
