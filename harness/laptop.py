"""A developer's Linux machine for the tests of the resolved path (issue 14): a container with systemd as PID 1 and
systemd-resolved, on Docker's `kind` network beside the kind clusters, that the collection runs in as a user runs it on
a Linux laptop (ansible-playbook on this host, the community.docker.docker connection into the container).

The image (harness/laptop-image) is built locally with no registry: FROM the kind node image of
harness/kind-node-image.sh (Debian bookworm with systemd; its Kubernetes services off), plus systemd-resolved, sudo and
python3-venv from Debian's mirror, and /opt/hostreach-venv with the docker and kubernetes SDKs from wheels this host
downloads (tests/requirements.txt's pins, the rest constrained to this venv's versions). It is cached by a key of its
inputs (the node image's build key, the image folder, the pins): a warm `laptop_image()` is a `docker image inspect`.

The container runs as kind runs its nodes, without `--privileged` (Debian's dockerd 20.10 cannot grant every capability
here; the flags of harness/kind-docker-wrapper/docker replace it): every capability the engine can grant (all but
CAP_SYS_RESOURCE here; NET_ADMIN for the routes among them), no seccomp or AppArmor confinement, unmasked /proc and /sys, tmpfs /run and /tmp, a volume for
/var, the node image's stop signal. laptop-entrypoint remounts the cgroup hierarchies read-write, keeps systemd from
mounting hierarchies Docker did not (that would break every kind node started meanwhile), and makes /etc/resolv.conf
the symlink to resolved's stub, as on a laptop. resolved has no upstream server (resolved-laptop.conf): a name outside
a domain routed to a cluster goes nowhere, so no test can query a resolver outside the containers the tests made.

The user is `dev` (not root; sudo without a password, so the plays' `become` is real). `Laptop.kubeconfig(clusters)`
writes ~dev/.kube/config as kind would on that machine, the server being the control-plane node's IP:6443 (the
apiserver's certificate covers it); `Laptop.playbook()` runs one of the collection's playbooks against it.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from .kind import KindCluster
from .versions import HARNESS_DIR, REPO_ROOT, cache_dir

IMAGE_DIR = HARNESS_DIR / "laptop-image"
IMAGE = "hostreach/laptop:test"
KEY_LABEL = "hostreach.kind.laptop-key"
CONTAINER_LABEL = "hostreach.kind.laptop"
KIND_NODE_IMAGE_SCRIPT = HARNESS_DIR / "kind-node-image.sh"
REQUIREMENTS = REPO_ROOT / "tests" / "requirements.txt"
# The modules' two SDKs, and ansible-core for the watch agent's service, which runs the playbooks on the laptop itself.
SDKS = ("docker", "kubernetes", "ansible-core")
NETWORK = "kind"
USER = "dev"
EXEC_FIELDS = {"clientCertificateData": "client-certificate-data", "clientKeyData": "client-key-data"}
HOME = f"/home/{USER}"
PYTHON = "/opt/hostreach-venv/bin/python"
BOOT_TIMEOUT = 90.0
# What kind runs its nodes with, where `--privileged` cannot be had (harness/kind-docker-wrapper/docker; kind's own
# node arguments: tmpfs /run and /tmp, a volume for /var). The capabilities: _capability_flags().
RUN_FLAGS = (
    "--tty",
    "--security-opt=seccomp=unconfined",
    "--security-opt=apparmor=unconfined",
    "--security-opt=systempaths=unconfined",
    "--tmpfs=/tmp",
    "--tmpfs=/run",
    "--volume=/var",
    # Its own cgroup namespace, as kind runs its nodes: the user's systemd manager (user@<uid>.service, the watch agent's
    # unit) finds its cgroup where /proc/self/cgroup says (with the host's namespace it looks under /docker/<id> twice).
    "--cgroupns=private",
)


def _log(message: str) -> None:
    print(f"==> laptop: {message}", file=sys.stderr, flush=True)


def sdk_requirements() -> list[str]:
    """The pins of SDKS, as tests/requirements.txt has them (`docker==7.2.0`, ...)."""
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        name, sep, _version = line.strip().partition("==")
        if sep and name in SDKS:
            pins[name] = line.strip()
    missing = [name for name in SDKS if name not in pins]
    if missing:
        raise RuntimeError(f"{REQUIREMENTS} pins no {', '.join(missing)}")
    return [pins[name] for name in SDKS]


def _constraints() -> str:
    """This venv's own versions (`pip freeze`), so that the laptop's SDKs bring the same dependencies."""
    frozen = subprocess.run([sys.executable, "-m", "pip", "freeze", "--all"], check=True, capture_output=True, text=True).stdout
    return "".join(f"{line}\n" for line in frozen.splitlines() if "==" in line and not line.startswith(("-", "#")))


def _wheels(requirements: list[str], constraints: str) -> Path:
    """The wheels of the SDKs and their dependencies for Debian 12's Python 3.11, downloaded once per pin set."""
    key = hashlib.sha256("\n".join([*requirements, constraints]).encode()).hexdigest()[:16]
    wheels = cache_dir() / "laptop" / f"wheels-{key}"
    if not (wheels / ".complete").exists():
        shutil.rmtree(wheels, ignore_errors=True)
        wheels.mkdir(parents=True)
        (wheels / "constraints.txt").write_text(constraints)
        platforms = [f"--platform={p}" for p in ("manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux_2_28_x86_64", "linux_x86_64")]
        download = [sys.executable, "-m", "pip", "download", "-q", "-d", str(wheels), "--only-binary=:all:", "--python-version=3.11"]
        subprocess.run(["nice", *download, "--implementation=cp", *platforms, "-c", str(wheels / "constraints.txt"), *requirements], check=True)
        (wheels / ".complete").touch()
    return wheels


def _image_key(node_key: str, requirements: list[str], constraints: str) -> str:
    digest = hashlib.sha256()
    for part in [node_key, *requirements, constraints]:
        digest.update(part.encode() + b"\0")
    for path in sorted(IMAGE_DIR.iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _label(image: str, label: str) -> str | None:
    done = subprocess.run(["docker", "image", "inspect", "-f", f'{{{{index .Config.Labels "{label}"}}}}', image], capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def laptop_image() -> str:
    """hostreach/laptop:test, built when its inputs changed (the node image first, by harness/kind-node-image.sh)."""
    subprocess.run([str(KIND_NODE_IMAGE_SCRIPT), "build"], check=True, stdout=subprocess.DEVNULL)
    node_image = subprocess.run([str(KIND_NODE_IMAGE_SCRIPT), "print-image"], check=True, capture_output=True, text=True).stdout.strip()
    node_key = _label(node_image, "hostreach.kind.build-key") or ""
    requirements, constraints = sdk_requirements(), _constraints()
    key = _image_key(node_key, requirements, constraints)
    lock = cache_dir() / "laptop" / "build.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # another session building the same image waits, then finds it built
        if _label(IMAGE, KEY_LABEL) == key:
            return IMAGE
        start = time.monotonic()
        _log(f"building {IMAGE} (key {key}) FROM {node_image}")
        wheels = _wheels(requirements, constraints)
        with tempfile.TemporaryDirectory(prefix="hostreach-laptop-") as context:
            for path in IMAGE_DIR.iterdir():
                shutil.copy2(path, Path(context) / path.name)
            shutil.copytree(wheels, Path(context) / "wheels")
            build = ["docker", "build", "-q", "--network=host", f"--label={KEY_LABEL}={key}", f"--tag={IMAGE}"]
            build += [f"--build-arg=NODE_IMAGE={node_image}", f"--build-arg=SDK_REQUIREMENTS={' '.join(requirements)}", context]
            subprocess.run(["nice", *build], check=True, stdout=subprocess.DEVNULL)
        # Earlier builds lost their tag to this one: remove those no container uses.
        subprocess.run(["docker", "image", "prune", "-f", f"--filter=label={KEY_LABEL}"], check=False, stdout=subprocess.DEVNULL)
        _log(f"{IMAGE} built in {time.monotonic() - start:.0f}s")
    return IMAGE


@dataclass(frozen=True)
class Laptop:
    """The running laptop container: its name (the inventory host's ansible_host) and its address on kind's network."""

    name: str
    ip: str

    def run(self, *args: str, user: str = "root", input: str | None = None, check: bool = False) -> subprocess.CompletedProcess[str]:
        """A command inside the laptop (`docker exec`), as `user`."""
        command = ["docker", "exec", *(["--interactive"] if input is not None else []), f"--user={user}", self.name, *args]
        return subprocess.run(command, input=input, capture_output=True, text=True, check=check)

    def sh(self, script: str, user: str = "root", check: bool = False) -> subprocess.CompletedProcess[str]:
        return self.run("sh", "-c", script, user=user, check=check)

    def read(self, path: str) -> str | None:
        done = self.run("cat", path)
        return done.stdout if done.returncode == 0 else None

    def write(self, path: str, text: str, user: str = USER, mode: str = "0600") -> None:
        self.run("sh", "-c", f'umask 077 && mkdir -p "$(dirname "{path}")" && cat >"{path}" && chmod {mode} "{path}"', user=user, input=text, check=True)

    def resolvectl(self, *args: str) -> str:
        return self.run("resolvectl", *args, check=True).stdout

    def link_toward(self, address: str) -> str:
        """The interface this machine sends packets to `address` through (`ip route get`)."""
        words = self.run("ip", "route", "get", address, check=True).stdout.split()
        return words[words.index("dev") + 1]

    def kubeconfig(self, *clusters: KindCluster, exec_log: str | None = None) -> str:
        """~dev/.kube/config with the clusters' contexts (kind-<name>), as `kind create cluster` writes it on a machine
        on kind's network: the server is the control-plane node's IP:6443 instead of a port published on 127.0.0.1.
        With `exec_log`, each user's credentials come from an `exec` credential plugin (as with a cloud provider's
        login), a script that appends the uid it runs as to `exec_log` before it prints the same certificate."""
        merged: dict = {"apiVersion": "v1", "kind": "Config", "clusters": [], "contexts": [], "users": [], "preferences": {}}
        for cluster in clusters:
            config = yaml.safe_load(Path(cluster.kubeconfig).read_text())
            for entry in config["clusters"]:
                entry["cluster"]["server"] = f"https://{cluster.node_ips[cluster.control_plane]}:6443"
            if exec_log:
                config["users"] = [self._exec_user(entry, exec_log) for entry in config["users"]]
            for key in ("clusters", "contexts", "users"):
                merged[key] += config[key]
            merged["current-context"] = cluster.context
        path = f"{HOME}/.kube/config"
        self.write(path, yaml.safe_dump(merged))
        return path

    def _exec_user(self, entry: dict, log: str) -> dict:
        """`entry` (a kubeconfig user with client certificate data) turned into one whose exec plugin logs its uid."""
        user = entry["user"]
        status = {key: base64.b64decode(user[field]).decode() for key, field in EXEC_FIELDS.items()}
        api = "client.authentication.k8s.io/v1"
        base = f"{HOME}/.kube/exec-{entry['name']}"
        self.write(f"{base}.json", json.dumps({"apiVersion": api, "kind": "ExecCredential", "status": status}))
        self.write(f"{base}.sh", f'#!/bin/sh\nid -u >>"{log}"\nexec cat "{base}.json"\n', mode="0700")
        return {"name": entry["name"], "user": {"exec": {"apiVersion": api, "command": f"{base}.sh", "interactiveMode": "Never"}}}

    def inventory(self, directory: Path) -> Path:
        """An inventory with this machine as host `laptop`: the community.docker.docker connection, user dev, the venv's
        python (sudo for `become`, as on a laptop)."""
        host = {
            "ansible_connection": "community.docker.docker",
            "ansible_host": self.name,
            "ansible_user": USER,
            "ansible_python_interpreter": PYTHON,
        }
        path = directory / "laptop-inventory.yml"
        path.write_text(json.dumps({"all": {"hosts": {"laptop": host}}}))
        return path

    def user_manager(self) -> None:
        """The user's own systemd manager running, as after a login on a desktop (`loginctl enable-linger`: it starts
        now, without a session)."""
        self.run("loginctl", "enable-linger", USER, check=True)
        deadline = time.monotonic() + 30
        while self.systemctl_user("is-system-running").stdout.strip() not in ("running", "degraded"):
            if time.monotonic() > deadline:
                pytest.fail(f"the user manager of {USER} does not run: {self.run('systemctl', 'status', 'user@*').stdout}")
            time.sleep(0.5)

    def systemctl_user(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`systemctl --user ...` as the user, in their manager."""
        return self.run("sh", "-c", 'XDG_RUNTIME_DIR="/run/user/$(id -u)" exec systemctl --user "$@"', "systemctl", *args, user=USER)

    def install_collection(self, root: str) -> None:
        """This checkout's collection (as `ansible-galaxy collection build` makes it) and the two it uses,
        community.docker and community.general (from this venv's `ansible` package, as scripts/runtime.sh takes them),
        into `root`/ansible_collections, owned by the user: what the watch agent's runs load."""
        sdk_venv = Path(sys.executable).parent
        community = Path(sysconfig.get_paths()["purelib"]) / "ansible_collections" / "community"
        # Into the user's home: `docker cp` writes the container's own filesystem, under the tmpfs of /tmp.
        with tempfile.TemporaryDirectory(prefix="hostreach-collection-") as build:
            subprocess.run([str(sdk_venv / "ansible-galaxy"), "collection", "build", "--output-path", build, str(REPO_ROOT)], check=True, capture_output=True)
            tarball = next(Path(build).glob("hostreach-kind-*.tar.gz"))
            self.run("mkdir", "-p", f"{root}/ansible_collections/community", user=USER, check=True)
            subprocess.run(["docker", "cp", str(tarball), f"{self.name}:{HOME}/hostreach-kind.tar.gz"], check=True, capture_output=True)
            for name in ("docker", "general"):
                into = f"{self.name}:{root}/ansible_collections/community/{name}"
                subprocess.run(["docker", "cp", str(community / name), into], check=True, capture_output=True)
        self.run("chown", "-R", f"{USER}:{USER}", f"{root}/ansible_collections", f"{HOME}/hostreach-kind.tar.gz", check=True)
        galaxy = str(Path(PYTHON).parent / "ansible-galaxy")
        self.run(galaxy, "collection", "install", "--offline", "--no-deps", "-p", root, f"{HOME}/hostreach-kind.tar.gz", user=USER, check=True)

    def playbook(self, play: str, settings: dict, directory: Path, check: bool = False, diff: bool = False) -> subprocess.CompletedProcess:
        """`ansible-playbook <play> -i <inventory> -e target=laptop` on this host, with the default callback."""
        from tests.ansible_runner import playbook  # the tests' one way to run playbooks (tests/ansible_runner.py)

        return playbook(play, {"target": "laptop", **settings}, args=("-i", str(self.inventory(directory))), check=check, diff=diff)


def _address(name: str) -> str:
    done = subprocess.run(
        ["docker", "inspect", "-f", f'{{{{(index .NetworkSettings.Networks "{NETWORK}").IPAddress}}}}', name], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() if done.returncode == 0 else ""


def _capability_flags(image: str) -> list[str]:
    """Every capability the engine can grant. Engine 29 leaves out of `--cap-add=ALL` what is not in its bounding set
    (here CAP_SYS_RESOURCE) and refuses to drop that again; Debian's 20.10 fails on it ("unable to apply caps"), so
    there it is dropped by name, as harness/kind-docker-wrapper/docker does."""
    every = ["--cap-add=ALL"]
    tried = subprocess.run(["docker", "run", "--rm", *every, "--network=none", "--entrypoint=/bin/true", image], capture_output=True, check=False)
    return every if tried.returncode == 0 else [*every, "--cap-drop=SYS_RESOURCE"]


@contextlib.contextmanager
def running_laptop(image: str | None = None) -> Iterator[Laptop]:
    """A laptop container on kind's network, systemd-resolved answering; removed (with its /var volume) afterwards,
    whatever happened. kind's network must exist (a kind cluster runs)."""
    image = image or laptop_image()
    name = f"hostreach-laptop-{uuid.uuid4().hex[:6]}"
    start = time.monotonic()
    try:
        run = ["docker", "run", "--detach", f"--name={name}", "--hostname=laptop", f"--label={CONTAINER_LABEL}={name}", *_capability_flags(image), *RUN_FLAGS]
        subprocess.run([*run, "--network=none", image], check=True, stdout=subprocess.DEVNULL)
        # Its only network is kind's, as on a machine whose link toward the nodes is Docker's bridge of that network.
        subprocess.run(["docker", "network", "disconnect", "none", name], check=True)
        subprocess.run(["docker", "network", "connect", NETWORK, name], check=True)
        laptop = Laptop(name=name, ip=_address(name))
        deadline = time.monotonic() + BOOT_TIMEOUT
        while laptop.run("resolvectl", "status").returncode != 0:
            if time.monotonic() > deadline:
                logs = subprocess.run(["docker", "logs", "--tail=40", name], capture_output=True, text=True, check=False)
                pytest.fail(f"systemd-resolved does not answer in {name} after {BOOT_TIMEOUT:.0f}s:\n{logs.stdout}{logs.stderr}")
            time.sleep(0.5)
        _log(f"{name} up at {laptop.ip} in {time.monotonic() - start:.1f}s")
        yield laptop
    finally:
        stop = time.monotonic()
        subprocess.run(["docker", "rm", "--force", "--volumes", name], check=False, capture_output=True)
        _log(f"{name} removed in {time.monotonic() - stop:.1f}s")


@pytest.fixture(scope="module")
def laptop(kind_cluster: KindCluster) -> Iterator[Laptop]:
    """A Linux laptop with systemd-resolved on kind's network (the kind_cluster's); removed after the module (its
    systemd and resolved would idle through the rest of the session otherwise), before the cluster."""
    with running_laptop() as machine:
        yield machine
