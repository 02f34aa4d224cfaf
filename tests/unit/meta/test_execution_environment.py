"""The collection's execution environment (issue 21, item 1): meta/execution-environment.yml says what the
controller side needs, and the example examples/execution-environment/ gives a team's image. Both are checked with
the venv's ansible-builder, as a team's CI would: `introspect` on the collection lists exactly the controller's needs,
and `create` writes the build context of the example. Building the image needs a container registry (the base
image), which this machine has none of (docs/fleet.md)."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
COLLECTIONS = REPO / ".build" / "collections"
EXAMPLE = REPO / "examples" / "execution-environment"
BUILDER = str(Path(sys.executable).parent / "ansible-builder")
# What the controller side needs (meta/ee-bindep.txt): the SSH client that reaches the laptops; no Python package.
CONTROLLER_SYSTEM = ["openssh-clients [platform:rpm]", "openssh-client [platform:dpkg]"]
SCRIPTS = ["assemble", "check_ansible", "check_galaxy", "entrypoint", "install-from-bindep", "introspect.py", "pip_install"]


def builder(*args: str) -> str:
    done = subprocess.run([BUILDER, *args], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"ansible-builder {' '.join(args)}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_introspect_lists_exactly_what_the_controller_needs() -> None:
    output = builder("introspect", str(COLLECTIONS))
    print(output)
    found = yaml.safe_load(output.split("---", 1)[1])
    assert found == {"python": [], "system": [f"{line}  # from collection hostreach.kind" for line in CONTROLLER_SYSTEM]}, output


def _imports(path: Path, package: str) -> tuple[set[str], set[str]]:
    """The modules a file imports (`from package import module` as package.module), and which of them only inside a
    `try:` that catches ImportError (optional: the SDK guard of _errors.require_library)."""
    tree = ast.parse(path.read_text())
    guarded = {id(node) for t in ast.walk(tree) if isinstance(t, ast.Try) and _catches_import_error(t) for s in t.body for node in ast.walk(s)}
    names: set[str] = set()
    optional: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found = {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found = {f"{node.module}.{alias.name}" for alias in node.names} if node.module == package else {node.module}
        else:
            continue
        (optional if id(node) in guarded else names).update(found)
    return names, optional


def _catches_import_error(node: ast.Try) -> bool:
    return any(isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError") for h in node.handlers)


FILTERS = "ansible_collections.hostreach.kind.plugins.filter."


def test_the_controller_side_code_needs_no_python_package_beyond_ansible_core() -> None:
    """Why meta/ee-requirements.txt is empty: the filter plugins (what runs on the controller) and the module_utils
    they import use the standard library and Ansible alone; the SDKs are the modules', on the targets."""
    package = "ansible_collections.hostreach.kind.plugins.module_utils"
    filters = sorted((REPO / "plugins" / "filter").glob("*.py"))
    todo, seen, outside, optional = list(filters), set(), {}, set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        names, guarded = _imports(path, package)
        optional |= {name.split(".")[0] for name in guarded}
        for name in names:
            if name.startswith(f"{package}."):
                todo.append(REPO / "plugins" / "module_utils" / f"{name.removeprefix(package + '.')}.py")
            elif name.startswith(FILTERS):  # another filter of the collection: followed as the filters are
                todo.append(REPO / "plugins" / "filter" / f"{name.removeprefix(FILTERS)}.py")
            elif name.split(".")[0] not in sys.stdlib_module_names | {"__future__", "ansible"}:
                outside.setdefault(name, []).append(path.name)
    assert len(seen) > len(filters), "the filters import module_utils: followed"
    assert outside == {}, outside
    # The SDKs the filters reach (through _route_targets) are imported behind the guard only, and never called there.
    assert optional <= {"docker", "kubernetes", "urllib3", "yaml"}, optional


def _pins() -> dict[str, str]:
    lines = (REPO / "tests" / "requirements.txt").read_text().splitlines()
    return dict(line.split("==") for line in lines if "==" in line and not line.startswith("#"))


def test_create_writes_the_build_context_of_the_example(tmp_path: Path) -> None:
    example = tmp_path / "ee"
    shutil.copytree(EXAMPLE, example)
    context = tmp_path / "context"
    builder("create", "-f", str(example / "execution-environment.yml"), "-c", str(context), "--output-filename", "Containerfile")
    written = sorted(str(p.relative_to(context)) for p in context.rglob("*") if p.is_file())
    assert written == sorted(["Containerfile", "_build/requirements.yml", *(f"_build/scripts/{s}" for s in SCRIPTS)]), written
    assert (context / "_build" / "requirements.yml").read_text() == (EXAMPLE / "requirements.yml").read_text()
    containerfile = (context / "Containerfile").read_text()
    definition = yaml.safe_load((EXAMPLE / "execution-environment.yml").read_text())
    pins = _pins()
    refs = f"ansible-core=={pins['ansible-core']} ansible-runner=={pins['ansible-runner']}"
    assert f'ARG EE_BASE_IMAGE="{definition["images"]["base_image"]["name"]}"' in containerfile, containerfile
    assert f'ARG ANSIBLE_INSTALL_REFS="{refs}"' in containerfile, "the example's versions are the tested ones"
    galaxy_install = "ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml"
    introspect = "RUN $PYCMD /output/scripts/introspect.py introspect --write-bindep=/tmp/src/bindep.txt --write-pip=/tmp/src/requirements.txt"
    for stage in ("FROM $EE_BASE_IMAGE AS base", "FROM base AS galaxy", "FROM base AS builder", "FROM base AS final"):
        assert stage in containerfile, stage
    order = [containerfile.index(text) for text in ("RUN $PKGMGR install -y git", galaxy_install, introspect, "install-from-bindep")]
    assert order == sorted(order), "git before the galaxy install, whose collections are introspected, then installed"
    assert not re.search(r"^FROM \S+\.\S+/", containerfile, re.MULTILINE), "no registry named: the base image is the team's"


def test_the_example_installs_this_collection_and_its_dependencies() -> None:
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    wanted = yaml.safe_load((EXAMPLE / "requirements.yml").read_text())["collections"]
    assert wanted[0] == {"name": f"{galaxy['repository']}.git", "type": "git", "version": "main"}, wanted
    assert {c["name"]: c["version"] for c in wanted[1:]} == galaxy["dependencies"], wanted
