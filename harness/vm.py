"""A Mac and its Docker VM, modelled with network namespaces (harness/vm-netns.sh), for @pytest.mark.vm tests.

The VM is a network namespace running its own dockerd (Docker Engine 29 built by harness/engine-build.sh, or
Debian's 20.10), the Mac a second namespace joined to it by a veth pair standing for docker-connector's tunnel:
Mac end `utun0` 192.168.251.2, VM end `dc-tun0` 192.168.251.1, addressed as the real connector addresses its
tunnel. Only the tunnel itself is stood in for; the VM's firewall and routing are the real engine's.

`docker_vm` (module scope) brings up the VM that the module's `vm_spec` fixture asks for (default: Engine 29 with
iptables; a module overrides `vm_spec` for another) and takes it down afterwards, whatever happened; `docker_vm_up(spec)` does the same as a context
manager. `DockerVM.run_web()` starts the demo httpd (built locally with `docker import`, nothing is pulled) on
a user bridge network of the VM with no port published, and routes that network's subnet on the Mac, as
docker-connector does for a `route` line. `DockerVM.http_from_mac()` is curl run inside the Mac.

A VM whose pytest process died is taken down by the next `docker_vm_up` (the owner's pid is in its run dir).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .kind import DEMO_HTTPD_PORT, DEMO_HTTPD_REPOSITORY, _demo_httpd_rootfs
from .versions import HARNESS_DIR, cache_dir

VM_SCRIPT = HARNESS_DIR / "vm-netns.sh"
NAME_PREFIX = "t"  # test VMs are t<6 hex>; a VM made by hand (`harness/vm-netns.sh up`) is `dev` and never touched
# A dropped packet shows as a timeout; an answer from a container on the VM's own bridge takes milliseconds.
DROP_TIMEOUT = 2.0
ANSWER_TIMEOUT = 10.0


@dataclass(frozen=True)
class VMSpec:
    """Which engine the VM runs and how its firewall is set up."""

    engine: str = "29"  # "29" (Docker Engine 29 from the Go module proxy) or "20.10" (Debian's docker.io)
    firewall: str = "iptables"  # or "nftables" (Engine 29 only)
    daemon_extra: str = ""  # more daemon.json members, e.g. '"allow-direct-routing": true'

    def __str__(self) -> str:
        extra = f"+{self.daemon_extra}" if self.daemon_extra else ""
        return f"engine{self.engine}-{self.firewall}{extra}"


@dataclass(frozen=True)
class Probe:
    """What an HTTP GET from the Mac got: `status` None when nothing answered (curl's exit code says why)."""

    status: int | None
    body: str
    curl_exit: int

    @property
    def timed_out(self) -> bool:
        return self.curl_exit == 28  # CURLE_OPERATION_TIMEDOUT: the packets were dropped, not refused


@dataclass(frozen=True)
class Web:
    """The demo httpd in the VM: its container, network, subnet and the URL of its unpublished port."""

    container: str
    network: str
    subnet: str
    ip: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.ip}:{self.port}/"


@dataclass(frozen=True)
class DockerVM:
    name: str
    spec: VMSpec
    docker_host: str
    vm_netns: str
    mac_netns: str
    vm_if: str  # the VM end of the tunnel
    mac_if: str
    vm_addr: str  # the VM end's address: the Mac's gateway to the bridge subnets
    mac_addr: str  # the tunnel peer, as the VM sees the Mac

    def docker(self, *args: str, input: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        """The docker CLI against the VM's engine (Engine 29 still accepts API 1.40, so Debian's client works)."""
        return _run(["docker", "-H", self.docker_host, *args], input=input, check=check)

    def docker_out(self, *args: str) -> str:
        return self.docker(*args).stdout.decode().strip()

    def in_vm(self, *argv: str, check: bool = True, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return _run(["ip", "netns", "exec", self.vm_netns, *argv], check=check, input=input)

    def in_mac(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return _run(["ip", "netns", "exec", self.mac_netns, *argv], check=check)

    def iptables_save(self, table: str) -> str:
        return self.in_vm("iptables-save", "-t", table).stdout.decode()

    def nft_ruleset(self) -> str:
        return self.in_vm("nft", "list", "ruleset").stdout.decode()

    def nft(self, script: str) -> None:
        """Runs an nft script (`nft -f -`) inside the VM."""
        self.in_vm("nft", "-f", "-", input=script.encode())

    def route_from_mac(self, *subnets: str) -> None:
        """Routes on the Mac through the tunnel, as docker-connector adds one per `route` line."""
        _run([str(VM_SCRIPT), "route", self.name, *subnets])

    def restart_engine(self) -> None:
        """Stops the VM's dockerd (SIGTERM, as a restart of Docker Desktop's engine does) and starts it again."""
        _run([str(VM_SCRIPT), "restart-engine", self.name], capture=False)

    def http_from_mac(self, url: str, timeout: float = ANSWER_TIMEOUT) -> Probe:
        return _http(self.in_mac, url, timeout)

    def http_in_vm(self, url: str, timeout: float = ANSWER_TIMEOUT) -> Probe:
        """A GET from the VM itself: the node's own network, where the tunnel's firewall plays no part."""
        return _http(self.in_vm, url, timeout)

    def load_demo_httpd(self, tag: str = "vm") -> str:
        """hostreach/demo-httpd:<tag> imported straight into the VM's engine from a local rootfs (no pull)."""
        image = f"{DEMO_HTTPD_REPOSITORY}:{tag}"
        entrypoint = f'ENTRYPOINT ["/bin/busybox", "httpd", "-f", "-p", "{DEMO_HTTPD_PORT}", "-h", "/www"]'
        self.docker("import", "--change", entrypoint, "-", image, input=_demo_httpd_rootfs())
        return image

    def run_web(self, network: str = "hostreach-web", network_options: tuple[str, ...] = ()) -> Web:
        """The demo httpd on a new user bridge network of the VM, no port published; its subnet routed on the Mac.

        `--restart always` so it comes back after an engine restart; `--stop-timeout 1` because busybox httpd
        as PID 1 ignores SIGTERM, and an engine restart would otherwise wait 10s for it.
        """
        image = self.load_demo_httpd()
        options = [arg for option in network_options for arg in ("-o", option)]
        self.docker("network", "create", "--driver", "bridge", *options, network)
        container = f"{network}-httpd"
        self.docker("run", "-d", "--name", container, "--network", network, "--restart", "always", "--stop-timeout", "1", image)
        subnet = self.docker_out("network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", network).split()[0]
        self.route_from_mac(subnet)
        return Web(container=container, network=network, subnet=subnet, ip=self.container_ip(container, network), port=DEMO_HTTPD_PORT)

    def container_ip(self, container: str, network: str) -> str:
        return self.docker_out("inspect", "--format", f'{{{{(index .NetworkSettings.Networks "{network}").IPAddress}}}}', container)


def _http(run: Callable[..., subprocess.CompletedProcess[bytes]], url: str, timeout: float) -> Probe:
    """curl's GET of `url` in a namespace (`run` is DockerVM.in_mac or in_vm): the status, the body, curl's exit."""
    result = run("curl", "-sS", "--max-time", str(timeout), "-o", "-", "-w", "\n%{http_code}", url, check=False)
    body, _newline, code = result.stdout.decode().rpartition("\n")
    status = int(code) if code.isdigit() and code != "000" else None
    return Probe(status=status, body=body, curl_exit=result.returncode)


def _run(argv: list[str], *, check: bool = True, input: bytes | None = None, capture: bool = True) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(argv, input=input, stdout=subprocess.PIPE if capture else None, stderr=subprocess.PIPE, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {result.returncode}: {result.stderr.decode().strip()}")
    return result


def _run_dir(name: str) -> Path:
    return cache_dir() / "run" / f"vm-{name}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_vms() -> None:
    """Takes down test VMs whose pytest process is gone (killed before its teardown ran)."""
    for run_dir in (cache_dir() / "run").glob(f"vm-{NAME_PREFIX}*"):
        owner = run_dir / "owner"
        with contextlib.suppress(OSError, ValueError):
            if _alive(int(owner.read_text())):
                continue
        subprocess.run([str(VM_SCRIPT), "down", run_dir.name.removeprefix("vm-")], check=False)


def _parse_env(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


@contextlib.contextmanager
def docker_vm_up(spec: VMSpec = VMSpec()) -> Iterator[DockerVM]:
    """A fresh VM + Mac pair; taken down (namespaces, veths, dockerd and its children, mounts, run dir) on exit."""
    if os.geteuid() != 0:
        pytest.fail("the Docker VM model needs root (network namespaces, iptables, dockerd)")
    remove_stale_vms()
    name = f"{NAME_PREFIX}{secrets.token_hex(3)}"
    env = {**os.environ, "HOSTREACH_VM_ENGINE": spec.engine, "HOSTREACH_VM_FIREWALL": spec.firewall, "HOSTREACH_VM_DAEMON_EXTRA": spec.daemon_extra}
    try:
        result = subprocess.run([str(VM_SCRIPT), "up", name], env=env, stdout=subprocess.PIPE, text=True, check=False)
        if result.returncode != 0:
            pytest.fail(f"harness/vm-netns.sh up {name} ({spec}) failed (exit {result.returncode}); its error output is above")
        (_run_dir(name) / "owner").write_text(str(os.getpid()))
        values = _parse_env(result.stdout)
        yield DockerVM(
            name=name,
            spec=spec,
            docker_host=values["DOCKER_HOST"],
            vm_netns=values["VM_NETNS"],
            mac_netns=values["MAC_NETNS"],
            vm_if=values["VM_IF"],
            mac_if=values["MAC_IF"],
            vm_addr=values["VM_ADDR"],
            mac_addr=values["MAC_ADDR"],
        )
    finally:
        subprocess.run([str(VM_SCRIPT), "down", name], check=False)


@pytest.fixture(scope="module")
def vm_spec() -> VMSpec:
    """The VM a test module gets: Docker Engine 29 with iptables, unless the module overrides this fixture."""
    return VMSpec()


@pytest.fixture(scope="module")
def docker_vm(vm_spec: VMSpec) -> Iterator[DockerVM]:  # pylint: disable=redefined-outer-name  # fixtures by name
    """A Docker VM + Mac for the test module, as `vm_spec` says; taken down after the module."""
    with docker_vm_up(vm_spec) as vm:
        yield vm


def leftovers(name: str) -> list[str]:
    """What of VM `name` still exists: namespaces, run dir, mounts, cgroups. Empty after a clean teardown."""
    found = [f"netns {ns}" for ns in (f"hrvm-{name}-vm", f"hrvm-{name}-mac") if Path("/run/netns", ns).exists()]
    run_dir = _run_dir(name)
    if run_dir.exists():
        found.append(f"run dir {run_dir}")
    mounts = Path("/proc/self/mounts").read_text().split("\n")
    found += [f"mount {line.split()[1]}" for line in mounts if line and str(run_dir) + "/" in line.split()[1]]
    found += [f"cgroup {path}" for path in Path("/sys/fs/cgroup").glob(f"*/hostreach-vm-{name}")]
    return found
