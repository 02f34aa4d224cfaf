"""The binaries harness/k8s-build.sh made from the Go module proxy report the versions pinned in versions.env."""

from __future__ import annotations

import subprocess

import pytest

from harness.versions import binary_dirs, load_versions

VERSIONS = load_versions()
K8S = VERSIONS["K8S_VERSION"]
DIRS = binary_dirs()

ETCD = VERSIONS["ETCD_VERSION"].removeprefix("v")

# binary, its arguments, what its output starts with
EXPECTED = [
    *(
        (DIRS["k8s"] / name, ["--version"], f"Kubernetes {K8S}\n")
        for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy", "kubelet")
    ),
    (DIRS["k8s"] / "kubeadm", ["version", "-o", "short"], f"{K8S}\n"),
    (DIRS["k8s"] / "kubectl", ["version", "--client"], f"Client Version: {K8S}\n"),
    (DIRS["etcd"] / "etcd", ["--version"], f"etcd Version: {ETCD}\n"),
    (DIRS["etcd"] / "etcdctl", ["version"], f"etcdctl version: {ETCD}\n"),
    (DIRS["kind"] / "kind", ["version"], f"kind {VERSIONS['KIND_VERSION']} "),
    (DIRS["pause"] / "pause", ["-v"], f"pause.c v{VERSIONS['PAUSE_VERSION']}\n"),
    # Stamped as CoreDNS's Makefile does: the version, then the platform, Go version and release commit.
    (DIRS["coredns"] / "coredns", ["-version"], f"CoreDNS-{VERSIONS['COREDNS_VERSION'].removeprefix('v')}\nlinux/amd64, go"),
]


@pytest.mark.parametrize(("path", "args", "prefix"), EXPECTED, ids=[entry[0].name for entry in EXPECTED])
def test_binary_reports_pinned_version(path, args: list[str], prefix: str) -> None:
    if not path.exists():
        pytest.fail(f"{path} is not built: run `make k8s-build` (harness/k8s-build.sh)")
    output = subprocess.run([path, *args], check=True, capture_output=True, text=True).stdout
    assert output.startswith(prefix), output
