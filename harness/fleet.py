"""A team of "laptops" reached over real SSH: each one a network namespace with its own sshd and Unix user.

`fleet` (session) makes FLEET_SIZE hosts (HOSTREACH_FLEET_SIZE, default 3) and removes them afterwards;
`fleet_up(size)` does the same as a context manager for a test that needs its own. Needs root, `ip` and
openssh-server and sudo (harness/setup-host.sh installs them).

Host n of run <runid> (runid: 6 hex digits, one per fleet):

- network namespace `hrfleet-<runid>-<n>`, joined to the root namespace by a veth pair on a private /30:
  root end `hf<runid>r<n>`, namespace end `hf<runid>n<n>`. A fleet takes the first 10.254.B.0/24 (B = 0..255)
  that no route or address of the root namespace overlaps (so two fleets, or a network of the machine, never
  share one); host n gets 10.254.B.4n/30, the root end .4n+1 and the namespace end .4n+2 (`host.address`).
  Nothing is routed beyond the /30s: the only peers the tests can reach are the namespaces they made.
- an sshd inside the namespace (`ip netns exec ... /usr/sbin/sshd -D -f <its sshd_config>`) with its own host
  key, pidfile and log, listening on <address>:22 only, public keys only, `AllowUsers` its one user.
- a Unix user `hrf<runid>u<n>` (own uid, group and HOME /var/tmp/hostreach-fleet/<runid>/home<n>) with the
  fleet's password, which sudo asks for (drop-in /etc/sudoers.d/hostreach-fleet-<runid>, no NOPASSWD), and
  root's per-run key in ~/.ssh/authorized_keys. The filesystem is shared between the namespaces, so a host's
  machine state is its user's HOME (~/.kube/config, ...): `host.write()` / `host.path()`.

Everything a fleet makes is listed in /var/tmp/hostreach-fleet/<runid>/manifest.json before it is made;
teardown works from that list and carries on past errors (sshd and every process in the namespaces or of the
users killed, namespaces and veths deleted, `userdel -r`, the sudoers drop-in and the run directory removed),
then `leftovers()` must come back empty. A fleet whose pytest process died is removed by the next fleet setup.

`stop_sshd()` / `link_down()` (or `with fleet.unreachable(host):`) make a host unreachable;
`write_inventory()` writes an inventory like examples/inventory.yml; `ansible_env()` the environment to run the
venv's ansible with.

`route_to(subnet)` lets the hosts reach one network of the root namespace that the test made (a kind cluster's
Docker network, say) and nothing else: in each host's namespace a route to `subnet` via the root end of its veth,
and in the root namespace two ACCEPT rules at the top of Docker's DOCKER-USER chain (dockerd's FORWARD policy is
DROP): `-s <fleet /24> -d <subnet>` and back, plus `-s <fleet /24> -d <subnet>` at the top of the raw table's
PREROUTING, where Docker Engine 28 and later drop what is routed to a container from outside its bridge (nothing to
let through on older engines, so harmless there); all tagged `-m comment --comment hostreach-fleet-<runid>`. The
rules go into the manifest before they are inserted, so teardown (and the sweep of a dead fleet) deletes them, and
`leftovers()` reports any rule still carrying the tag; the routes go with the namespaces.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from .versions import REPO_ROOT

RUN_ROOT = Path("/var/tmp/hostreach-fleet")
SUPERNET = ipaddress.ip_network("10.254.0.0/16")
NETNS_PREFIX = "hrfleet"
SUDOERS_DIR = Path("/etc/sudoers.d")
SSHD = Path("/usr/sbin/sshd")
SFTP_SERVER = Path("/usr/lib/openssh/sftp-server")
PRIVSEP_DIR = Path("/run/sshd")
SYSTEM_PYTHON = "/usr/bin/python3"
GROUP = "team_laptops"
DEFAULT_SIZE = 3
MAX_SIZE = 64  # /30s in a /24
IPTABLES = "iptables"
FORWARD_CHAIN = "DOCKER-USER"  # Docker's chain for the user's own rules, jumped to first from FORWARD
RAW_CHAIN = "PREROUTING"  # of table raw: Engine 28+'s direct-routing drops
TABLES = ("filter", "raw")


def _run(argv: Sequence[str], *, check: bool = True, input: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(argv), input=input, capture_output=True, text=True, check=False, cwd=cwd)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {result.returncode}: {result.stderr.strip() or result.stdout.strip()}")
    return result


def _start_time(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat: with the pid, names one process even after the pid is reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _processes(live_only: bool = True) -> Iterator[tuple[int, int, str]]:
    """(pid, real uid, command line) of every process; zombies (dead, not yet reaped by init) only if not live_only."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if live_only and fields.get("State", "").split()[:1] == ["Z"]:
            continue
        yield pid, int(fields.get("Uid", "-1").split()[0]), cmdline


def _kill(pids: Sequence[int], grace: float = 3.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds for those still there (exited children are reaped by their owner)."""
    pids = [pid for pid in pids if pid != os.getpid()]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while pids and time.monotonic() < deadline:
            pids = [pid for pid in pids if Path(f"/proc/{pid}").exists() and not _zombie(pid)]
            if pids:
                time.sleep(0.05)
        if not pids:
            return


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def _netns_list() -> list[str]:
    return [line.split()[0] for line in _run(["ip", "netns", "list"]).stdout.splitlines() if line.strip()]


def _netns_pids(netns: str) -> list[int]:
    result = _run(["ip", "netns", "pids", netns], check=False)
    return [int(pid) for pid in result.stdout.split()] if result.returncode == 0 else []


def _link_names() -> list[str]:
    return [line.split(":")[1].strip().split("@")[0] for line in _run(["ip", "-o", "link", "show"]).stdout.splitlines()]


def _routes() -> list[tuple[ipaddress.IPv4Network, str]]:
    """(destination, line) of every IPv4 route of the root namespace's routing tables, but the default routes."""
    routes = []
    for line in _run(["ip", "-4", "-o", "route", "show", "table", "all"]).stdout.splitlines():
        for token in line.split()[:2]:  # "10.0.0.0/8 dev ..." or "<type> 10.0.0.0/8 ..."
            if token in ("default", "0.0.0.0/0"):
                break
            with contextlib.suppress(ValueError):
                routes.append((ipaddress.ip_network(token, strict=False), line.strip()))
                break
    return routes


def _networks_in_use() -> list[ipaddress.IPv4Network]:
    """Every IPv4 destination of the root namespace's routing tables and every address's network, but the default route."""
    networks = [route[0] for route in _routes()]
    for line in _run(["ip", "-4", "-o", "addr", "show"]).stdout.splitlines():
        fields = line.split()
        networks.append(ipaddress.ip_interface(fields[fields.index("inet") + 1]).network)
    return networks


def _free_block() -> ipaddress.IPv4Network:
    used = _networks_in_use()
    for block in SUPERNET.subnets(new_prefix=24):
        if not any(block.overlaps(net) for net in used):
            return block
    raise RuntimeError(f"no /24 of {SUPERNET} is free of the root namespace's routes and addresses: {sorted(map(str, used))}")


@contextlib.contextmanager
def _root_lock() -> Iterator[None]:
    """Held while a fleet picks its /24 and makes its links, and while stale fleets are swept."""
    RUN_ROOT.mkdir(mode=0o755, parents=True, exist_ok=True)
    with (RUN_ROOT / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@dataclass
class FleetHost:
    """One laptop: its inventory name, namespace, veth ends, addresses, user and HOME."""

    index: int
    name: str
    netns: str
    veth_root: str
    veth_ns: str
    address: str  # the namespace end, where sshd listens: ansible_host
    peer: str  # the root namespace end
    prefixlen: int
    user: str
    home: Path
    state_dir: Path  # root-only: sshd_config, host key, pidfile, log
    python: str = SYSTEM_PYTHON  # ansible_python_interpreter, set once the user exists
    uid: int = -1
    gid: int = -1
    sshd: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def sshd_config(self) -> Path:
        return self.state_dir / "sshd_config"

    @property
    def sshd_log(self) -> Path:
        return self.state_dir / "sshd.log"

    @property
    def pidfile(self) -> Path:
        return self.state_dir / "sshd.pid"

    @property
    def host_key(self) -> Path:
        return self.state_dir / "ssh_host_ed25519_key"

    def path(self, relative: str) -> Path:
        """A path of this host's machine state (its user's HOME)."""
        return self.home / relative

    def write(self, relative: str, content: str, mode: int = 0o600) -> Path:
        """Writes a file of this host's machine state, owned by its user (parent directories too, 0700)."""
        target = self.path(relative)
        missing = [parent for parent in reversed(target.relative_to(self.home).parents) if not (self.home / parent).exists()]
        for parent in missing:
            (self.home / parent).mkdir(mode=0o700)
            os.chown(self.home / parent, self.uid, self.gid)
        target.write_text(content)
        os.chown(target, self.uid, self.gid)
        target.chmod(mode)
        return target

    def run(self, argv: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Runs a command on this host: inside its namespace, as its user, in its HOME."""
        return _run(["ip", "netns", "exec", self.netns, "runuser", "-u", self.user, "--", "env", f"HOME={self.home}", *argv], check=check, cwd=self.home)

    def sshd_running(self) -> bool:
        return self.sshd is not None and self.sshd.poll() is None


class Fleet:
    """N hosts of one run; see the module docstring. Build with `Fleet.up(size)` (or `fleet_up`), end with `down()`."""

    def __init__(self, size: int, run_id: str | None = None) -> None:
        if not 1 <= size <= MAX_SIZE:
            raise ValueError(f"a fleet has 1 to {MAX_SIZE} hosts, not {size}")
        self.size = size
        self.run_id = run_id or secrets.token_hex(3)
        self.run_dir = RUN_ROOT / self.run_id
        self.password = secrets.token_urlsafe(12)  # every user's, as --ask-become-pass types one for all hosts
        self.private_key = self.run_dir / "id_ed25519"
        self.known_hosts = self.run_dir / "known_hosts"
        self.control_path_dir = self.run_dir / "cp"  # ansible's ssh ControlPersist sockets, so teardown finds them
        self.sudoers = SUDOERS_DIR / f"hostreach-fleet-{self.run_id}"  # no dot: sudo skips names with one (and leftovers())
        self.block: ipaddress.IPv4Network | None = None
        self.hosts: list[FleetHost] = []
        self.python_note = ""
        self.timings: dict[str, float] = {}
        self.forward_rules: list[list[str]] = []  # iptables rule specs (table, then chain) of route_to(), in the manifest
        self.routed: list[str] = []  # the subnets route_to() routed the hosts to

    # -- life cycle -------------------------------------------------------------------------------------------

    @classmethod
    def up(cls, size: int = DEFAULT_SIZE) -> Fleet:
        fleet = cls(size)
        started = time.monotonic()
        try:
            fleet._create()
        except BaseException:
            fleet.down(check=False)
            raise
        fleet.timings["setup"] = time.monotonic() - started
        return fleet

    def _create(self) -> None:
        for tool in (SSHD, Path("/usr/bin/sudo"), Path("/usr/sbin/visudo")):
            if not tool.exists():
                raise RuntimeError(f"{tool} is missing: run harness/setup-host.sh (installs openssh-server and sudo)")
        if os.geteuid() != 0:
            raise RuntimeError("the SSH fleet needs root (network namespaces, users, sudoers)")
        phase = time.monotonic()

        def lap(name: str) -> None:
            nonlocal phase
            now = time.monotonic()
            self.timings[name] = now - phase
            phase = now

        with _root_lock():
            _sweep()
            self.block = _free_block()
            self._plan()
            self._write_manifest()
            # The whole /24 is unreachable but for the /30s of links that are up: a host whose link is down fails
            # at once with "No route to host", and nothing for the fleet ever goes out by the default route.
            _run(["ip", "route", "add", "unreachable", str(self.block)])
            for host in self.hosts:
                self._make_network(host)
        lap("setup.network")
        self._make_client_files()
        for host in self.hosts:
            self._make_user(host)
        self._write_sudoers()
        lap("setup.users")
        for host in self.hosts:
            self._make_sshd_files(host)
            self.start_sshd(host)
        self.known_hosts.write_text("".join(f"{host.address} {self._host_public_key(host)}\n" for host in self.hosts))
        lap("setup.sshd")

    def _plan(self) -> None:
        assert self.block is not None
        subnets = list(self.block.subnets(new_prefix=30))
        self.run_dir.mkdir(mode=0o755, parents=True)
        for n in range(1, self.size + 1):
            subnet = subnets[n - 1]
            self.hosts.append(
                FleetHost(
                    index=n,
                    name=f"laptop{n}",
                    netns=f"{NETNS_PREFIX}-{self.run_id}-{n}",
                    veth_root=f"hf{self.run_id}r{n}",
                    veth_ns=f"hf{self.run_id}n{n}",
                    peer=str(subnet.network_address + 1),
                    address=str(subnet.network_address + 2),
                    prefixlen=subnet.prefixlen,
                    user=f"hrf{self.run_id}u{n}",
                    home=self.run_dir / f"home{n}",
                    state_dir=self.run_dir / f"host{n}",
                )
            )

    def _write_manifest(self) -> None:
        manifest = {
            "run_id": self.run_id,
            "owner_pid": os.getpid(),
            "owner_start": _start_time(os.getpid()),
            "block": str(self.block),
            "sudoers": str(self.sudoers),
            "hosts": [{"netns": h.netns, "veth_root": h.veth_root, "user": h.user, "address": h.address} for h in self.hosts],
            "forward_rules": self.forward_rules,
        }
        (self.run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")

    def _make_network(self, host: FleetHost) -> None:
        _run(["ip", "netns", "add", host.netns])
        _run(["ip", "link", "add", host.veth_root, "type", "veth", "peer", "name", host.veth_ns, "netns", host.netns])
        _run(["ip", "addr", "add", f"{host.peer}/{host.prefixlen}", "dev", host.veth_root])
        _run(["ip", "link", "set", host.veth_root, "up"])
        _run(["ip", "-n", host.netns, "addr", "add", f"{host.address}/{host.prefixlen}", "dev", host.veth_ns])
        _run(["ip", "-n", host.netns, "link", "set", host.veth_ns, "up"])
        _run(["ip", "-n", host.netns, "link", "set", "lo", "up"])

    def _make_client_files(self) -> None:
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"hostreach-fleet-{self.run_id}", "-f", str(self.private_key)])
        self.control_path_dir.mkdir(mode=0o700)

    def _make_user(self, host: FleetHost) -> None:
        comment = f"hostreach fleet {self.run_id} host {host.index}"
        _run(["useradd", "--create-home", "--home-dir", str(host.home), "--shell", "/bin/bash", "--user-group", "--comment", comment, host.user])
        _run(["chpasswd"], input=f"{host.user}:{self.password}\n")
        entry = pwd.getpwnam(host.user)
        host.uid, host.gid = entry.pw_uid, entry.pw_gid
        host.home.chmod(0o700)
        host.write(".ssh/authorized_keys", self.private_key.with_suffix(".pub").read_text())
        host.python, self.python_note = self._interpreter_for(host)

    def _interpreter_for(self, host: FleetHost) -> tuple[str, str]:
        """The test venv's python (docker and kubernetes SDKs) if this user can run it, else the system python3."""
        venv_python = Path(sys.prefix) / "bin" / "python"
        probe = host.run([str(venv_python), "-c", "import docker, kubernetes"], check=False)
        if probe.returncode == 0:
            return str(venv_python), f"{venv_python} (runs as the fleet users, has docker and kubernetes)"
        why = (probe.stderr.strip().splitlines() or [f"exit {probe.returncode}"])[-1]
        return SYSTEM_PYTHON, f"{SYSTEM_PYTHON}: the users cannot use {venv_python} ({why})"

    def _write_sudoers(self) -> None:
        lines = [f"# hostreach fleet {self.run_id}: written by harness/fleet.py, removed by its teardown\n"]
        lines += [f"{host.user} ALL=(ALL:ALL) ALL\n" for host in self.hosts]
        staging = SUDOERS_DIR / f".{self.sudoers.name}.tmp"  # sudo reads no file whose name has a dot
        staging.write_text("".join(lines))
        staging.chmod(0o440)
        try:
            _run(["visudo", "-cqf", str(staging)])
            staging.rename(self.sudoers)
        finally:
            staging.unlink(missing_ok=True)

    def _make_sshd_files(self, host: FleetHost) -> None:
        # sshd's privilege separation directory; the package makes it at boot (tmpfiles.d), no daemon here did.
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        host.state_dir.mkdir(mode=0o700)
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{host.name}-{self.run_id}", "-f", str(host.host_key)])
        host.sshd_config.write_text(
            f"# {host.name} of hostreach fleet {self.run_id} (netns {host.netns}): written by harness/fleet.py\n"
            f"ListenAddress {host.address}:22\n"
            f"HostKey {host.host_key}\n"
            f"PidFile {host.pidfile}\n"
            "AuthorizedKeysFile .ssh/authorized_keys\n"
            "PubkeyAuthentication yes\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "PermitRootLogin no\n"
            f"AllowUsers {host.user}\n"
            "UsePAM no\n"
            "StrictModes yes\n"
            "PrintMotd no\n"
            "LogLevel VERBOSE\n"
            f"Subsystem sftp {SFTP_SERVER}\n"
        )
        _run([str(SSHD), "-t", "-f", str(host.sshd_config)])

    def _host_public_key(self, host: FleetHost) -> str:
        key_type, key = host.host_key.with_suffix(".pub").read_text().split()[:2]
        return f"{key_type} {key}"

    def down(self, check: bool = True) -> None:
        """Removes everything of this fleet; with check, raises if anything is left (or a step failed)."""
        started = time.monotonic()
        for host in self.hosts:
            if host.sshd is not None:
                host.sshd.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    host.sshd.wait(timeout=5)
                if host.sshd.poll() is None:
                    host.sshd.kill()
                    host.sshd.wait()
                host.sshd = None
        errors = teardown_run(self.run_dir)
        self.timings["teardown"] = time.monotonic() - started
        if check:
            left = self.leftovers()
            if errors or left:
                raise RuntimeError(f"fleet {self.run_id} teardown: errors {errors}, left behind {left}")

    def leftovers(self) -> list[str]:
        """What of this fleet still exists: namespaces, links, processes, users, groups, files. Empty after down()."""
        block = str(self.block) if self.block else None
        return leftovers(self.run_id, [h.user for h in self.hosts], [h.uid for h in self.hosts if h.uid >= 0], block)

    def route_to(self, subnet: str) -> None:
        """Every host reaches `subnet` (a network of the root namespace that the test made) and it reaches them back:
        a route via the root end of each veth, tagged DOCKER-USER and raw PREROUTING ACCEPT rules (module docstring). Needs IPv4
        forwarding on in the root namespace (dockerd turns it on); this does not change it."""
        assert self.block is not None
        network = ipaddress.ip_network(subnet)
        if network.overlaps(self.block):
            raise ValueError(f"{subnet} overlaps the fleet's own {self.block}")
        if Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() != "1":
            raise RuntimeError("IPv4 forwarding is off in the root namespace: no packet of the fleet would get to " + subnet)
        if _run([IPTABLES, "-S", FORWARD_CHAIN], check=False).returncode != 0:
            raise RuntimeError(f"no iptables chain {FORWARD_CHAIN}: is the Docker engine of {subnet} running?")
        tag = ["-m", "comment", "--comment", forward_tag(self.run_id)]
        rules = [
            ["filter", FORWARD_CHAIN, "-s", str(self.block), "-d", str(network), *tag, "-j", "ACCEPT"],
            ["filter", FORWARD_CHAIN, "-s", str(network), "-d", str(self.block), *tag, "-j", "ACCEPT"],
            ["raw", RAW_CHAIN, "-s", str(self.block), "-d", str(network), *tag, "-j", "ACCEPT"],
        ]
        self.forward_rules += rules
        self._write_manifest()  # listed before they exist: teardown finds them whatever happens next
        for table, *rule in rules:
            _run([IPTABLES, "-t", table, "-I", *rule])
        for host in self.hosts:
            _run(["ip", "-n", host.netns, "route", "add", str(network), "via", host.peer])
        self.routed.append(str(network))

    def host_processes(self) -> dict[str, list[int]]:
        """The pids in each host's namespace (its sshd, the sessions and what they run), by inventory name."""
        return {host.name: _netns_pids(host.netns) for host in self.hosts}

    # -- making hosts unreachable -----------------------------------------------------------------------------

    def start_sshd(self, host: FleetHost, timeout: float = 10.0) -> None:
        if host.sshd_running():
            return
        host.pidfile.unlink(missing_ok=True)
        argv = ["ip", "netns", "exec", host.netns, str(SSHD), "-D", "-f", str(host.sshd_config), "-E", str(host.sshd_log)]
        host.sshd = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while not host.pidfile.exists():  # sshd writes its pidfile once it listens
            if host.sshd.poll() is not None:
                stderr = host.sshd.stderr.read().decode(errors="replace") if host.sshd.stderr else ""
                log = host.sshd_log.read_text() if host.sshd_log.exists() else ""
                raise RuntimeError(f"sshd of {host.name} exited {host.sshd.returncode}: {stderr}{log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"sshd of {host.name} wrote no pidfile within {timeout}s")
            time.sleep(0.02)

    def stop_sshd(self, host: FleetHost) -> None:
        """The host's sshd goes away, with every session and process in its namespace, and ansible's masters."""
        if host.sshd is not None:
            host.sshd.terminate()
            host.sshd.wait(timeout=10)
            host.sshd = None
        _kill(_netns_pids(host.netns))
        self.close_control_masters()

    def link_down(self, host: FleetHost) -> None:
        """The root end of the host's veth goes down: its /30 route is gone, connections fail at once."""
        _run(["ip", "link", "set", host.veth_root, "down"])
        self.close_control_masters()

    def link_up(self, host: FleetHost) -> None:
        _run(["ip", "link", "set", host.veth_root, "up"])

    @contextlib.contextmanager
    def unreachable(self, host: FleetHost, how: str = "sshd") -> Iterator[FleetHost]:
        """`how`: "sshd" (stopped: connection refused) or "link" (veth down: no route); back as it was afterwards."""
        if how == "sshd":
            self.stop_sshd(host)
        elif how == "link":
            self.link_down(host)
        else:
            raise ValueError(f"how must be 'sshd' or 'link', not {how!r}")
        try:
            yield host
        finally:
            if how == "sshd":
                self.start_sshd(host)
            else:
                self.link_up(host)

    def close_control_masters(self) -> None:
        """Ends the ssh ControlPersist masters ansible left (they carry the control path in their command line)."""
        _kill(_control_masters(self.control_path_dir))

    # -- running ansible --------------------------------------------------------------------------------------

    def ansible_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        return ansible_env(self, base)

    def write_inventory(self, path: Path, **kwargs: Any) -> Path:
        return write_inventory(self, path, **kwargs)


def _control_masters(control_path_dir: Path) -> list[int]:
    marker = f"{control_path_dir}/"
    return [pid for pid, _uid, cmdline in _processes() if cmdline.startswith("ssh") and marker in cmdline and pid != os.getpid()]


def forward_tag(run_id: str) -> str:
    """The comment on the iptables rules of a fleet's route_to()."""
    return f"hostreach-fleet-{run_id}"


def tagged_rules(run_id: str) -> list[str]:
    """The rules of the root namespace's filter and raw tables carrying the fleet's tag, as `iptables -t <table> -S`
    prints them, each after its table's name."""
    if shutil.which(IPTABLES) is None:
        return []
    listed = [(table, line) for table in TABLES for line in _run([IPTABLES, "-t", table, "-S"], check=False).stdout.splitlines()]
    return [f"{table} {line}" for table, line in listed if f"--comment {forward_tag(run_id)}" in line]


def _delete_rule(rule: Sequence[str]) -> None:
    """Deletes every copy of the rule (table, chain, spec; there is one unless route_to() ran twice for a subnet)."""
    table, *spec = rule
    while _run([IPTABLES, "-t", table, "-C", *spec], check=False).returncode == 0:
        _run([IPTABLES, "-t", table, "-D", *spec])


def leftovers(run_id: str, users: Sequence[str] = (), uids: Sequence[int] = (), block: str | None = None) -> list[str]:
    """What of run `run_id` exists: its namespaces, links, routes into `block`, iptables rules with its tag,
    processes (in its run directory, or of `uids`), `users` and their groups, its sudoers drop-in and run directory.
    Dead processes that init has not reaped yet do not count."""
    run_dir = RUN_ROOT / run_id
    sudoers = SUDOERS_DIR / f"hostreach-fleet-{run_id}"
    left = [f"netns {ns}" for ns in _netns_list() if ns.startswith(f"{NETNS_PREFIX}-{run_id}-")]
    left += [f"link {link}" for link in _link_names() if link.startswith(f"hf{run_id}")]
    left += [f"iptables -t {rule}" for rule in tagged_rules(run_id)]
    if block is not None:
        left += [f"route {line}" for network, line in _routes() if network.subnet_of(ipaddress.ip_network(block))]
    left += [f"process {pid} (uid {uid}): {cmd}" for pid, uid, cmd in _processes() if uid in uids or (str(run_dir) in cmd and pid != os.getpid())]
    for user in users:
        with contextlib.suppress(KeyError):
            pwd.getpwnam(user)
            left.append(f"user {user}")
        if _run(["getent", "group", user], check=False).returncode == 0:
            left.append(f"group {user}")
    left += [f"file {path}" for path in (sudoers, run_dir) if path.exists()]
    return left


def teardown_run(run_dir: Path) -> list[str]:
    """Removes what the manifest of a run lists, in an order that works whatever was made; returns the errors."""
    errors: list[str] = []

    def attempt(what: str, action) -> None:
        try:
            action()
        except Exception as error:  # teardown carries on: every step is tried
            errors.append(f"{what}: {error}")

    manifest_file = run_dir / "manifest.json"
    if not manifest_file.exists():
        if run_dir.exists():
            attempt(f"rm {run_dir}", lambda: shutil.rmtree(run_dir))
        return errors
    manifest = json.loads(manifest_file.read_text())
    hosts = manifest["hosts"]
    uids = []
    for host in hosts:
        with contextlib.suppress(KeyError):
            uids.append(pwd.getpwnam(host["user"]).pw_uid)
    existing_netns = set(_netns_list())
    # Processes first: every one in the namespaces (sshd and its sessions), every one of the users, ansible's masters.
    pids = [pid for host in hosts if host["netns"] in existing_netns for pid in _netns_pids(host["netns"])]
    pids += [pid for pid, uid, _cmdline in _processes() if uid in uids]
    pids += _control_masters(run_dir / "cp")
    attempt("kill processes", lambda: _kill(sorted(set(pids))))
    for rule in manifest.get("forward_rules", []):
        attempt(f"iptables -D {' '.join(rule)}", lambda r=rule: _delete_rule(r))
    links = set(_link_names())
    for host in hosts:
        if host["veth_root"] in links:
            attempt(f"ip link del {host['veth_root']}", lambda h=host: _run(["ip", "link", "del", h["veth_root"]]))
        if host["netns"] in existing_netns:
            attempt(f"ip netns del {host['netns']}", lambda h=host: _run(["ip", "netns", "delete", h["netns"]]))
    for host in hosts:
        try:
            pwd.getpwnam(host["user"])
        except KeyError:
            continue
        attempt(f"userdel -r {host['user']}", lambda h=host: _userdel(h["user"]))
    block = ipaddress.ip_network(manifest["block"])
    if any(network == block and line.startswith("unreachable") for network, line in _routes()):
        attempt(f"ip route del unreachable {block}", lambda: _run(["ip", "route", "del", "unreachable", str(block)]))
    sudoers = Path(manifest["sudoers"])
    attempt(f"rm {sudoers}", lambda: sudoers.unlink(missing_ok=True))
    if not errors:
        attempt(f"rm {run_dir}", lambda: shutil.rmtree(run_dir))
    return errors


def _userdel(user: str) -> None:
    # userdel -r exits 12 when it could not remove the mail spool, which useradd never made: not an error here.
    result = _run(["userdel", "--remove", user], check=False)
    if result.returncode not in (0, 12):
        raise RuntimeError(f"userdel --remove {user} exited {result.returncode}: {result.stderr.strip()}")


def sweep_stale_fleets() -> list[str]:
    """Tears down the fleets whose pytest process is gone (killed before its teardown); returns their run ids."""
    with _root_lock():
        return _sweep()


def _sweep() -> list[str]:
    swept = []
    for manifest_file in sorted(RUN_ROOT.glob("*/manifest.json")):
        try:
            manifest = json.loads(manifest_file.read_text())
        except (OSError, ValueError):
            continue
        if _start_time(manifest["owner_pid"]) == manifest.get("owner_start"):
            continue  # its owner still runs
        teardown_run(manifest_file.parent)
        swept.append(manifest["run_id"])
    return swept


# -- inventory and environment ---------------------------------------------------------------------------------


def write_inventory(
    fleet: Fleet,
    path: Path,
    *,
    hosts: Sequence[FleetHost] | None = None,
    group: str = GROUP,
    group_vars: Mapping[str, Any] | None = None,
    host_vars: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """An inventory like examples/inventory.yml for the fleet's hosts (all by default); host_vars by inventory name."""
    host_vars = host_vars or {}
    ssh_args = " ".join(
        [
            "-F /dev/null",  # nothing from root's ~/.ssh/config
            f"-o UserKnownHostsFile={fleet.known_hosts}",
            "-o GlobalKnownHostsFile=/dev/null",
            "-o StrictHostKeyChecking=no",
            "-o IdentitiesOnly=yes",
        ]
    )
    entries = {}
    for host in fleet.hosts if hosts is None else hosts:
        entries[host.name] = {
            "ansible_host": host.address,
            "ansible_user": host.user,
            "ansible_python_interpreter": host.python,
            **host_vars.get(host.name, {}),
        }
    inventory = {
        "all": {
            "children": {
                group: {
                    "hosts": entries,
                    "vars": {
                        "ansible_connection": "ssh",
                        "ansible_become_method": "sudo",
                        "ansible_ssh_private_key_file": str(fleet.private_key),
                        "ansible_ssh_common_args": ssh_args,
                        "ansible_control_path_dir": str(fleet.control_path_dir),
                        **(group_vars or {}),
                    },
                }
            }
        }
    }
    header = (
        f"# SSH fleet {fleet.run_id} (harness/fleet.py): one network namespace with its own sshd and user per host.\n"
        "# The sudo password is the fleet's; give it to --ask-become-pass.\n"
    )
    path.write_text(header + yaml.safe_dump(inventory, sort_keys=False, default_flow_style=False))
    return path


def ansible_env(fleet: Fleet | None = None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment to run the venv's ansible with the working tree's collection (Makefile `link`)."""
    env = dict(os.environ if base is None else base)
    venv_bin = Path(sys.prefix) / "bin"
    env["PATH"] = f"{venv_bin}:{env.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}"
    env["ANSIBLE_COLLECTIONS_PATH"] = str(REPO_ROOT / ".build" / "collections")
    env["ANSIBLE_NOCOLOR"] = "1"
    env.pop("ANSIBLE_FORCE_COLOR", None)
    env["ANSIBLE_RETRY_FILES_ENABLED"] = "0"
    if fleet is not None:
        env["ANSIBLE_LOCAL_TEMP"] = str(fleet.run_dir / "ansible-local")
    return env


def ansible_bin(name: str) -> str:
    """A command of the venv ansible (ansible, ansible-playbook)."""
    return str(Path(sys.prefix) / "bin" / name)


# -- fixtures ----------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def fleet_up(size: int = DEFAULT_SIZE) -> Iterator[Fleet]:
    """A fleet for the length of a with block; removed (and checked to be gone) even when the block raises."""
    fleet = Fleet.up(size)
    try:
        yield fleet
    finally:
        fleet.down()


@pytest.fixture(scope="session")
def fleet() -> Iterator[Fleet]:
    """HOSTREACH_FLEET_SIZE (default 3) hosts reached over real SSH, removed after the session."""
    size = int(os.environ.get("HOSTREACH_FLEET_SIZE", DEFAULT_SIZE))
    try:
        made = Fleet.up(size)
    except RuntimeError as error:
        pytest.fail(f"SSH fleet: {error}")
    try:
        yield made
    finally:
        made.down()
