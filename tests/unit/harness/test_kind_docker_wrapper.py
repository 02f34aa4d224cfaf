"""harness/kind-docker-wrapper/docker rewrites kind's docker calls; the real docker behind it is a TEST
DOUBLE here (a script that records its arguments), so these run without a Docker engine."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from pathlib import Path

import pytest

from harness.versions import HARNESS_DIR

WRAPPER_DIR = HARNESS_DIR / "kind-docker-wrapper"
RECORDING_DOCKER_DOUBLE = """#!/usr/bin/env python3
import json, sys
print(json.dumps(sys.argv[1:]))
"""


@pytest.fixture
def recording_docker(tmp_path: Path) -> Path:
    """A folder holding `docker`, a double that prints its argv as JSON instead of talking to an engine."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    double = bin_dir / "docker"
    double.write_text(RECORDING_DOCKER_DOUBLE)
    double.chmod(0o755)
    return bin_dir


def wrapped(recording_docker: Path, *args: str) -> list[str]:
    env = {**os.environ, "PATH": f"{WRAPPER_DIR}:{recording_docker}:/usr/bin:/bin"}
    result = subprocess.run([str(WRAPPER_DIR / "docker"), *args], env=env, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(result.stdout)


def test_run_privileged_becomes_explicit_caps_without_sys_resource(recording_docker: Path) -> None:
    argv = wrapped(recording_docker, "run", "--name", "n", "--privileged", "--tmpfs", "/run", "img")
    assert "--privileged" not in argv
    assert argv[:3] == ["run", "--name", "n"]
    assert argv[-3:] == ["--tmpfs", "/run", "img"]
    flags = list(itertools.pairwise(argv))
    assert ("--cap-add", "ALL") in flags
    assert ("--cap-drop", "SYS_RESOURCE") in flags
    assert ("--security-opt", "systempaths=unconfined") in flags
    assert ("--device-cgroup-rule", "a *:* rwm") in flags
    assert ("--device", "/dev/kmsg") in flags


def test_exec_privileged_drops_the_flag_only(recording_docker: Path) -> None:
    assert wrapped(recording_docker, "exec", "--privileged", "node", "cat", "/kind/version") == ["exec", "node", "cat", "/kind/version"]


def test_other_commands_pass_through_untouched(recording_docker: Path) -> None:
    args = ["network", "create", "-d=bridge", "--opt", "x=--privileged", "kind"]
    assert wrapped(recording_docker, *args) == args


def test_lib_modules_mount_follows_the_host(recording_docker: Path) -> None:
    argv = wrapped(recording_docker, "run", "--volume", "/var", "--volume", "/lib/modules:/lib/modules:ro", "img")
    if Path("/lib/modules").is_dir():
        assert argv == ["run", "--volume", "/var", "--volume", "/lib/modules:/lib/modules:ro", "img"]
    else:  # Docker would create an empty /lib/modules on the host
        assert argv == ["run", "--volume", "/var", "img"]
