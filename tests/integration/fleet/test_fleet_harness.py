"""Proof that the SSH fleet (harness/fleet.py) is a team of laptops reached over real SSH: each host is its
own namespace, sshd and user, `--ask-become-pass` typed at a pty gives root through sudo, a host without its
sshd or its link is UNREACHABLE while the others go on, and teardown leaves nothing behind, failed test or not."""

from __future__ import annotations

import json
import os
import pwd
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.fleet import NETNS_PREFIX, RUN_ROOT, Fleet, FleetHost, ansible_bin, fleet_up, leftovers, sweep_stale_fleets, write_inventory
from harness.pty_run import BECOME_PROMPT, run_ansible_with_become_pass
from harness.versions import REPO_ROOT

pytestmark = pytest.mark.fleet

AD_HOC_RESULT = re.compile(r"^(?P<host>\S+) \| (?P<status>CHANGED|SUCCESS|FAILED|UNREACHABLE!) \| rc=(?P<rc>-?\d+) >>\n(?P<stdout>.*)$", re.MULTILINE)
RECAP = re.compile(r"^(?P<host>\S+)\s+: ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)", re.MULTILINE)


def ad_hoc(inventory: Path, *args: str) -> list[str]:
    return [ansible_bin("ansible"), "-i", str(inventory), "team_laptops", *args]


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """argv without a terminal, as CI runs it."""
    return subprocess.run(argv, env=env, cwd=REPO_ROOT, capture_output=True, text=True, check=False)


def typed(argv: list[str], password: str, env: dict[str, str]):
    """argv with --ask-become-pass, `password` typed at its prompt on a pty."""
    return run_ansible_with_become_pass(argv, password, env=env, cwd=REPO_ROOT, timeout=300)


def output_of(argv: list[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def id_line(host: FleetHost) -> str:
    return f"uid={host.uid}({host.user}) gid={host.gid}({host.user}) groups={host.gid}({host.user})"


def recap(output: str) -> dict[str, dict[str, int]]:
    return {m["host"]: {k: int(v) for k, v in m.groupdict().items() if k != "host"} for m in RECAP.finditer(output)}


def listeners(netns: str | None) -> list[str]:
    prefix = ["ip", "netns", "exec", netns] if netns else []
    return sorted(line.split()[3] for line in output_of([*prefix, "ss", "-Hltn"]).splitlines())


PLAYBOOK = textwrap.dedent(
    """\
    - name: A laptop's own state as its user, then one root step through sudo
      hosts: team_laptops
      gather_facts: false
      tasks:
        - name: ~/.kube of the laptop's user
          ansible.builtin.file:
            path: ~/.kube
            state: directory
            mode: "0700"
        - name: The laptop's kubeconfig, written as its user
          ansible.builtin.copy:
            dest: ~/.kube/config
            content: "# {{ inventory_hostname }} as {{ ansible_user }}\\n"
            mode: "0600"
        - name: The root step
          ansible.builtin.command: id -u
          become: true
          register: root_id
          changed_when: false
        - name: Sudo gave root
          ansible.builtin.assert:
            that: root_id.stdout == "0"
    """
)


def test_each_host_is_a_namespace_with_its_own_sshd_and_user(fleet: Fleet) -> None:
    assert len(fleet.hosts) >= 3
    assert len({h.address for h in fleet.hosts}) == len({h.uid for h in fleet.hosts}) == len({h.home for h in fleet.hosts}) == len(fleet.hosts)
    for host in fleet.hosts:
        assert host.netns == f"{NETNS_PREFIX}-{fleet.run_id}-{host.index}"
        assert listeners(host.netns) == [f"{host.address}:22"], "sshd listens on the namespace's address only"
        assert host.sshd_running()
        assert host.run(["id", "-un"]).stdout.strip() == host.user
        assert pwd.getpwnam(host.user).pw_dir == str(host.home)
    assert not [addr for addr in listeners(None) if addr.endswith(":22")], "nothing listens on port 22 in the root namespace"


def test_ssh_as_each_user(fleet: Fleet, inventory: Path, ansible_env: dict[str, str]) -> None:
    result = run(ad_hoc(inventory, "-m", "ansible.builtin.command", "-a", "id"), ansible_env)
    assert result.returncode == 0, result.stdout + result.stderr
    got = {m["host"]: m["stdout"] for m in AD_HOC_RESULT.finditer(result.stdout)}
    assert got == {host.name: id_line(host) for host in fleet.hosts}, result.stdout


def test_become_password_typed_at_a_pty_gives_root(fleet: Fleet, inventory: Path, ansible_env: dict[str, str]) -> None:
    result = typed(ad_hoc(inventory, "-b", "-m", "ansible.builtin.command", "-a", "id"), fleet.password, ansible_env)
    assert result.returncode == 0, str(result)
    assert result.answered == {BECOME_PROMPT: 1}
    assert fleet.password not in result.output, "getpass turned echo off"
    got = {m["host"]: m["stdout"] for m in AD_HOC_RESULT.finditer(result.output)}
    assert got == {host.name: "uid=0(root) gid=0(root) groups=0(root)" for host in fleet.hosts}, str(result)


def test_sudo_asks_for_the_password(fleet: Fleet, inventory: Path, ansible_env: dict[str, str]) -> None:
    result = typed(ad_hoc(inventory, "-b", "-m", "ansible.builtin.command", "-a", "id"), "not-the-password", ansible_env)
    assert result.returncode == 2, str(result)
    got = {m["host"]: (m["status"], m["stdout"]) for m in AD_HOC_RESULT.finditer(result.output)}
    assert got == {host.name: ("FAILED", "Task failed: Incorrect sudo password") for host in fleet.hosts}, str(result)


def test_playbook_writes_each_laptops_own_state(fleet: Fleet, inventory: Path, ansible_env: dict[str, str], tmp_path: Path) -> None:
    playbook = tmp_path / "fleet.yml"
    playbook.write_text(PLAYBOOK)
    result = typed([ansible_bin("ansible-playbook"), "-i", str(inventory), str(playbook)], fleet.password, ansible_env)
    assert result.returncode == 0, str(result)
    assert set(recap(result.output)) == {host.name for host in fleet.hosts}, str(result)
    for host in fleet.hosts:
        kubeconfig = host.path(".kube/config")
        assert kubeconfig.read_text() == f"# {host.name} as {host.user}\n"
        assert (kubeconfig.stat().st_uid, kubeconfig.stat().st_mode & 0o777) == (host.uid, 0o600)


@pytest.mark.parametrize("how", ["sshd", "link"])
def test_an_unreachable_host_is_reported_and_the_others_go_on(fleet: Fleet, inventory: Path, ansible_env: dict[str, str], tmp_path: Path, how: str) -> None:
    playbook = tmp_path / "fleet.yml"
    playbook.write_text(PLAYBOOK)
    down = fleet.hosts[1]
    with fleet.unreachable(down, how=how):
        result = typed([ansible_bin("ansible-playbook"), "-i", str(inventory), str(playbook)], fleet.password, ansible_env)
    assert result.returncode == 4, str(result)  # ansible-playbook: some hosts were unreachable
    assert f"fatal: [{down.name}]: UNREACHABLE!" in result.output, str(result)
    # Refused by the namespace with its sshd stopped; no route at all (the fleet's unreachable /24) with its link down.
    assert {"sshd": "Connection refused", "link": "No route to host"}[how] in result.output, str(result)
    summary = recap(result.output)
    assert summary[down.name]["unreachable"] == 1, str(result)
    for host in fleet.hosts:
        if host is not down:
            assert summary[host.name] == {"ok": 4, "changed": 0, "unreachable": 0, "failed": 0}, str(result)
    # Back as it was: every host answers again.
    again = run(ad_hoc(inventory, "-m", "ansible.builtin.ping"), ansible_env)
    assert again.returncode == 0, again.stdout + again.stderr


def assert_nothing_left(made: Fleet) -> None:
    assert made.leftovers() == []
    assert f"{NETNS_PREFIX}-{made.run_id}-" not in output_of(["ip", "netns", "list"])
    assert f"hf{made.run_id}" not in output_of(["ip", "-o", "link"])
    assert str(made.block) not in output_of(["ip", "-4", "route", "show", "table", "all"])
    assert f"{RUN_ROOT}/{made.run_id}" not in output_of(["ps", "-eo", "args"])  # sshd -f <run dir>/hostN/sshd_config, ssh masters
    for host in made.hosts:
        with pytest.raises(KeyError):
            pwd.getpwnam(host.user)
        assert not host.home.exists()
    assert not made.sudoers.exists()
    assert not made.run_dir.exists()


def test_teardown_leaves_nothing_even_when_the_test_fails(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="the test failed"), fleet_up(2) as small:
        inventory = write_inventory(small, tmp_path / "inventory.yml")
        # Sessions and ControlPersist masters to clean up, and one host with its link down.
        result = run(ad_hoc(inventory, "-m", "ansible.builtin.ping"), small.ansible_env())
        assert result.returncode == 0, result.stdout + result.stderr
        assert all(len(pids) > 1 for pids in small.host_processes().values()), "sshd and the ping's sessions in each namespace"
        small.link_down(small.hosts[0])
        raise RuntimeError("the test failed")
    print(f"fleet of 2: setup {small.timings['setup']:.2f}s, teardown {small.timings['teardown']:.2f}s")
    assert_nothing_left(small)


def test_a_fleet_whose_pytest_died_is_swept() -> None:
    code = textwrap.dedent(
        """\
        import json, sys, time
        sys.path.insert(0, sys.argv[1])
        from harness.fleet import Fleet
        made = Fleet.up(1)
        host = made.hosts[0]
        print(json.dumps({"run_id": made.run_id, "user": host.user, "uid": host.uid, "block": str(made.block), "sudoers": str(made.sudoers)}), flush=True)
        time.sleep(600)
        """
    )
    owner = subprocess.Popen([sys.executable, "-c", code, str(REPO_ROOT)], stdout=subprocess.PIPE, text=True)
    try:
        made = json.loads(owner.stdout.readline())
    finally:
        os.kill(owner.pid, signal.SIGKILL)  # no teardown runs
        owner.wait()
    assert Path(made["sudoers"]).exists()
    assert made["run_id"] in sweep_stale_fleets()
    assert leftovers(made["run_id"], [made["user"]], [made["uid"]], made["block"]) == []
