"""The pinned versions of the harness, read from the one file that holds them (versions.env)."""

from __future__ import annotations

import os
from pathlib import Path

HARNESS_DIR = Path(__file__).resolve().parent  # the harness's home: its scripts and files beside this package
REPO_ROOT = HARNESS_DIR.parent
VERSIONS_FILE = HARNESS_DIR / "versions.env"


def load_versions(path: Path = VERSIONS_FILE) -> dict[str, str]:
    """KEY=VALUE lines of versions.env; comments and blank lines are skipped."""
    versions = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            if not sep:
                raise ValueError(f"{path}: expected KEY=VALUE, got {line!r}")
            versions[key] = value
    return versions


def cache_dir() -> Path:
    """Where heavy builds live, as harness/lib.sh defines it."""
    return Path(os.environ.get("HOSTREACH_CACHE", "/var/cache/hostreach-kind"))


def binary_dirs() -> dict[str, Path]:
    """The build outputs of harness/k8s-build.sh, as harness/k8s-paths.sh names them."""
    versions = load_versions()
    cache = cache_dir()
    return {
        "k8s": cache / "k8s" / versions["K8S_VERSION"] / "bin",
        "etcd": cache / "etcd" / versions["ETCD_VERSION"] / "bin",
        "kind": cache / "kind" / versions["KIND_VERSION"] / "bin",
        "pause": cache / "pause" / versions["PAUSE_VERSION"],
        "coredns": cache / "coredns" / versions["COREDNS_VERSION"],
    }
