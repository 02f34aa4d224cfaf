"""An interpreter the SSH fleet's users can run (harness/fleet.py), with the docker and kubernetes SDKs.

The test venv's python cannot be run by the fleet users (a pyenv build under /root), and the laptops' network
namespaces have no way out, so no laptop can make a venv of its own from PyPI. `shared_venv()` makes one venv from
the system's /usr/bin/python3 in the root namespace, with pip (which reaches PyPI from there), at the pins of
tests/requirements.txt for docker, kubernetes and requests, under /var/tmp/hostreach-fleet/venv-<hash>, the hash
of the pins and the base interpreter's version: built once, then reused by every fleet; world-readable, so every
fleet user runs its python (point hostreach_kind_python at it).

`wheelhouse()` is the other way, for a laptop that makes its own venv (hostreach_kind_venv) without a network: the
wheels of the same pins and their dependencies in /var/tmp/hostreach-fleet/wheels-<hash>, fetched once from the root
namespace, and `offline_pip_conf(wheels)` the ~/.config/pip/pip.conf that makes the laptop's pip install from there
alone (no-index, find-links), as a machine behind a wheel mirror is set up.

A build that did not finish is redone (the marker file is written last); two sessions building at once take turns
(a lock file beside it).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from .fleet import RUN_ROOT, SYSTEM_PYTHON
from .versions import REPO_ROOT

REQUIREMENTS = REPO_ROOT / "tests" / "requirements.txt"
SDK_PACKAGES = ("docker", "kubernetes", "requests")
MARKER = ".hostreach-fleet-venv"  # written last, holds the pins: a venv without it is half made
BUILD_TIMEOUT = 900


def sdk_pins(requirements: Path = REQUIREMENTS, packages: Sequence[str] = SDK_PACKAGES) -> list[str]:
    """The `name==version` lines of `requirements` for `packages`, in that order; each must be pinned there."""
    pins = {}
    for line in requirements.read_text().splitlines():
        name, sep, version = line.split("#", 1)[0].strip().partition("==")
        if sep:
            pins[name.strip().lower()] = f"{name.strip()}=={version.strip()}"
    missing = [package for package in packages if package not in pins]
    if missing:
        raise RuntimeError(f"{requirements} pins no version of {', '.join(missing)}")
    return [pins[package] for package in packages]


def venv_dir(pins: Sequence[str], base_python: str = SYSTEM_PYTHON) -> Path:
    version = subprocess.run([base_python, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    digest = hashlib.sha256("\n".join([version, *pins]).encode()).hexdigest()[:12]
    return RUN_ROOT / f"venv-{digest}"


def shared_venv(pins: Sequence[str] | None = None, base_python: str = SYSTEM_PYTHON) -> Path:
    """The python of the shared venv with `pins` (default: sdk_pins()), made first if need be."""
    pins = list(pins or sdk_pins())
    target = venv_dir(pins, base_python)
    _once(target, pins, lambda: _build(target, pins, base_python))
    return target / "bin" / "python"


def wheelhouse(pins: Sequence[str] | None = None, base_python: str = SYSTEM_PYTHON) -> Path:
    """A directory with a wheel of each of `pins` (default: sdk_pins()) and of their dependencies, for `base_python`."""
    pins = list(pins or sdk_pins())
    target = RUN_ROOT / venv_dir(pins, base_python).name.replace("venv-", "wheels-", 1)
    python = shared_venv(pins, base_python)  # its pip runs on the same interpreter as the laptops' venvs

    def build() -> None:
        shutil.rmtree(target, ignore_errors=True)
        _step([str(python), "-m", "pip", "wheel", "--quiet", "--no-input", "--wheel-dir", str(target), *pins], target)
        _readable_by_all(target)

    _once(target, pins, build)
    return target


def offline_pip_conf(wheels: Path) -> str:
    """A pip.conf that installs from `wheels` only (the laptop has no way to an index)."""
    return f"[global]\nno-index = true\nfind-links = {wheels}\ndisable-pip-version-check = true\n"


def _once(target: Path, pins: Sequence[str], build) -> None:
    """build() unless `target` holds the marker with these pins; under a lock of its own."""
    RUN_ROOT.mkdir(mode=0o755, parents=True, exist_ok=True)
    with (RUN_ROOT / f".{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = target / MARKER
        if not (marker.exists() and marker.read_text() == "\n".join(pins) + "\n"):
            build()
            marker.write_text("\n".join(pins) + "\n")
            marker.chmod(0o644)


def _step(argv: Sequence[str], target: Path) -> None:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    done = subprocess.run(list(argv), capture_output=True, text=True, check=False, env=env, timeout=BUILD_TIMEOUT)
    if done.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()[-2000:]}")


def _build(target: Path, pins: Sequence[str], base_python: str) -> None:
    shutil.rmtree(target, ignore_errors=True)
    _step([base_python, "-m", "venv", str(target)], target)
    _step([str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-input", *pins], target)
    _step([str(target / "bin" / "python"), "-c", "import docker, kubernetes, requests"], target)
    _readable_by_all(target)


def _readable_by_all(target: Path) -> None:
    for directory, _subdirs, files in os.walk(target):  # root's umask may be tighter than 022: readable by all
        os.chmod(directory, 0o755)
        for name in files:
            path = Path(directory) / name
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o444 | (0o111 if path.stat().st_mode & 0o100 else 0))
