"""Helpers for the docker_bridge_routes integration tests: run the module as users do, make test networks."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import random
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import docker
import pytest

REPO = Path(__file__).resolve().parents[3]
COLLECTIONS = REPO / ".build" / "collections"
MODULE = "hostreach.kind.docker_bridge_routes"
PYTHON = sys.executable
BIN = Path(PYTHON).parent


def ansible_env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_STDOUT_CALLBACK="json",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_PYTHON_INTERPRETER=PYTHON,
    )
    env.pop("DOCKER_HOST", None)
    env.update(extra or {})
    return env


def adhoc(args: dict, *, check: bool = False, diff: bool = False, env: dict | None = None, python: str = PYTHON) -> dict:
    """Run the module as a user does, `ansible localhost -m hostreach.kind.docker_bridge_routes`; its result."""
    cmd = [str(BIN / "ansible"), "localhost", "-c", "local", "-m", MODULE, "-a", json.dumps(args), "-e", f"ansible_python_interpreter={python}"]
    cmd += ["--check"] if check else []
    cmd += ["--diff"] if diff else []
    proc = subprocess.run(cmd, env=ansible_env(env), capture_output=True, text=True, check=False, timeout=120)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"ansible printed no JSON (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    result = report["plays"][0]["tasks"][0]["hosts"]["localhost"]
    result["_stats"] = report["stats"]["localhost"]
    return result


def module_process(args: dict, *, env: dict | None = None, user: tuple | None = None, cwd: str | None = None) -> subprocess.Popen:
    """Start the module file directly (no Ansible controller), as a separate process; optionally as another (uid, gid)."""
    handle = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, dir=cwd)  # noqa: SIM115 (kept until the process has read it)
    json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    handle.close()
    os.chmod(handle.name, 0o644)
    cmd = [PYTHON, "-m", "ansible_collections.hostreach.kind.plugins.modules.docker_bridge_routes", handle.name]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user[0]}", f"--regid={user[1]}", "--clear-groups", *cmd]
    run_env = dict(os.environ, PYTHONPATH=str(COLLECTIONS), **(env or {}))
    return subprocess.Popen(cmd, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd or "/")


def module_result(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=120)
    try:
        return json.loads(out)
    except ValueError:
        pytest.fail(f"module printed no JSON (rc={proc.returncode}):\n{out}\n{err}")


class Networks:
    """Creates bridge networks named hrit-<id>-<name> on one engine and removes them all at the end."""

    def __init__(self, api: docker.APIClient) -> None:
        self.api = api
        self.created: list = []
        self.run = uuid.uuid4().hex[:6]

    def name(self, short: str) -> str:
        return f"hrit-{self.run}-{short}"

    def create(self, short: str, ipv4: bool | str = True, ipv6: bool = False) -> dict:
        """A bridge network; ipv4=True picks a free /24, a string is used as is, False lets Docker choose."""
        for _attempt in range(20):
            pools = []
            if ipv4:
                subnet = ipv4 if isinstance(ipv4, str) else f"10.{random.randint(200, 250)}.{random.randint(0, 255)}.0/24"
                pools.append(docker.types.IPAMPool(subnet=subnet))
            if ipv6:
                # A ULA /64 as kind uses (kind's own is fc00:f853:ccd:e793::/64; a random one avoids clashing with a real kind).
                # The third group always has a leading zero, which Docker keeps as written and the module does not
                # (fd12:3456:0abc::/64 is reported as fd12:3456:abc::/64), so every test sees both spellings.
                pools.append(docker.types.IPAMPool(subnet=f"fd{random.randrange(256):02x}:{random.randrange(65536):04x}:0{random.randrange(4096):03x}::/64"))
            ipam = docker.types.IPAMConfig(pool_configs=pools) if pools else None
            try:
                created = self.api.create_network(
                    self.name(short),
                    driver="bridge",
                    ipam=ipam,
                    enable_ipv6=ipv6,
                    options={"com.docker.network.bridge.enable_ip_masquerade": "true", "com.docker.network.driver.mtu": "1500"},
                )
            except docker.errors.APIError as exc:
                if "overlap" in str(exc).lower() and not isinstance(ipv4, str):
                    continue
                raise
            self.created.append(created["Id"])
            return self.api.inspect_network(created["Id"])
        raise RuntimeError("no free subnet found for a test network")

    def remove(self, net: dict) -> None:
        self.api.remove_network(net["Id"])
        self.created.remove(net["Id"])

    def cleanup(self) -> None:
        for net_id in self.created:
            with contextlib.suppress(docker.errors.NotFound):
                self.api.remove_network(net_id)


def subnets(net: dict, version: int | None = None) -> list:
    """The network's subnets as the module reports them (canonical: the random ULA may have a leading zero)."""
    found = [str(ipaddress.ip_network(c["Subnet"], strict=False)) for c in net["IPAM"]["Config"]]
    return [s for s in found if version is None or (":" in s) == (version == 6)]


class SecondDaemon:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = root / "docker.sock"
        self.host = f"unix://{self.socket}"
        self.pidfile = root / "docker.pid"
        self.log = root / "dockerd.log"
