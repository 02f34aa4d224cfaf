#!/usr/bin/env bash
# Runs `ansible-test sanity` from a copy of the collection at ansible_collections/hostreach/kind,
# the only place ansible-test accepts. Takes the tracked and untracked-but-not-ignored files.
set -euo pipefail
# shellcheck source=harness/lib.sh
source "$(dirname "$0")/lib.sh"

venv="$("$HARNESS_DIR/setup-venv.sh")"
# ansible-test bootstraps pip in its venvs with a get-pip script from a host we cannot reach: give it ours.
pip_version="$(sed -n "s/^ *pip='\([0-9.]*\)',$/\1/p" "$("$venv/bin/python" -c 'import ansible_test._internal.python_requirements as m; print(m.__file__)')")"
get_pip="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
if [[ -n "$pip_version" ]] && ! cmp -s "$HARNESS_DIR/get-pip-offline.py" "$get_pip"; then
  mkdir -p "$(dirname "$get_pip")" && cp "$HARNESS_DIR/get-pip-offline.py" "$get_pip"
fi
tree="$(mktemp -d)"
trap 'rm -rf "$tree"' EXIT
dest="$tree/ansible_collections/hostreach/kind"
mkdir -p "$dest"
# harness/ (the test harness) and scripts/ (make expose's runtime) are kept out of the collection by galaxy.yml's
# build_ignore; sanity checks what ships.
(cd "$REPO_ROOT" && git ls-files -z --cached --others --exclude-standard -- . ':(exclude)harness' ':(exclude)scripts' | rsync -a --from0 --files-from=- ./ "$dest/")
cd "$dest"
git init -q && git add -A >/dev/null   # ansible-test lists files through git when it can
PATH="$venv/bin:$PATH" ansible-test sanity --venv --python 3.11 --color no "$@"
