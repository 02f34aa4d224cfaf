#!/usr/bin/env bash
# Creates (once) the venv with the pinned test dependencies and prints its path.
# A marker written last makes an interrupted install start over instead of being trusted.
set -euo pipefail
# shellcheck source=harness/lib.sh
source "$(dirname "$0")/lib.sh"

venv="$(venv_dir)"
if [[ ! -f "$venv/.complete" ]]; then
  log "creating venv $venv"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$REPO_ROOT/tests/requirements.txt" >&2
  touch "$venv/.complete"
fi
printf '%s\n' "$venv"
