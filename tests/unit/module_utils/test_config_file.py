"""Reading, locking and atomically replacing the config file on a real temporary directory. The writes go
through a real AnsibleModule's atomic_move (built in-process with Ansible's own argument patching)."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args
from ansible_collections.hostreach.kind.plugins.module_utils import _config_file
from ansible_collections.hostreach.kind.plugins.module_utils._errors import ConfigFileError

NOT_UTF8 = b"# caf\xe9 (latin-1)\nroute 172.17.0.0/16\xff\n"


@pytest.fixture
def module() -> AnsibleModule:
    with patch_module_args({}):
        return AnsibleModule(argument_spec={}, add_file_common_args=True)


def test_any_bytes_survive_a_read_write_round_trip(tmp_path: Path, module: AnsibleModule) -> None:
    path = tmp_path / "docker-connector.conf"
    path.write_bytes(NOT_UTF8)
    _config_file.write(module, str(path), _config_file.read_text(str(path)) + "mtu 1400\n")
    assert path.read_bytes() == NOT_UTF8 + b"mtu 1400\n"


def test_for_display_is_valid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "docker-connector.conf"
    path.write_bytes(NOT_UTF8)
    shown = _config_file.for_display(_config_file.read_text(str(path)))
    assert shown == "# caf\ufffd (latin-1)\nroute 172.17.0.0/16\ufffd\n"
    shown.encode("utf-8")


def test_missing_file_reads_as_none(tmp_path: Path) -> None:
    assert _config_file.read_text(str(tmp_path / "absent.conf")) is None


def test_replace_keeps_mode_and_leaves_no_temporary_file(tmp_path: Path, module: AnsibleModule) -> None:
    path = tmp_path / "docker-connector.conf"
    path.write_text("mtu 1400\n")
    path.chmod(0o600)
    inode = path.stat().st_ino
    _config_file.write(module, str(path), "mtu 1500\n")
    assert (path.read_text(), oct(path.stat().st_mode & 0o7777)) == ("mtu 1500\n", "0o600")
    assert path.stat().st_ino != inode
    assert [p.name for p in tmp_path.iterdir()] == ["docker-connector.conf"]


def test_new_file_gets_0644_under_a_strict_umask(tmp_path: Path, module: AnsibleModule) -> None:
    path = tmp_path / "docker-connector.conf"
    old = os.umask(0o077)
    try:
        _config_file.write(module, str(path), "route 172.17.0.0/16\n")
    finally:
        os.umask(old)
    assert oct(path.stat().st_mode & 0o777) == "0o644"


def test_the_lock_is_the_directory_and_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "docker-connector.conf"
    with _config_file.locked(str(path)):
        fd = os.open(tmp_path, os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held: another run would wait here
        finally:
            os.close(fd)
    assert list(tmp_path.iterdir()) == []


def test_a_second_holder_waits_for_the_first(tmp_path: Path) -> None:
    path = str(tmp_path / "docker-connector.conf")
    order = []

    def second() -> None:
        with _config_file.locked(path):
            order.append("second")

    with _config_file.locked(path):
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.3)
        order.append("first")
    thread.join(5)
    assert order == ["first", "second"]


def test_write_problems(tmp_path: Path) -> None:
    assert _config_file.write_problem(str(tmp_path / "x.conf")) is None
    assert _config_file.write_problem(str(tmp_path / "no" / "x.conf")) == f"its directory {tmp_path / 'no'} does not exist"


@pytest.mark.parametrize("path", ["", "/opt/homebrew/etc/", "etc/"])
def test_a_path_that_names_no_file_is_refused(path: str) -> None:
    with pytest.raises(ConfigFileError, match="names no file"):
        _config_file.write_target(path)


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="is a directory, not a file"):
        _config_file.write_target(str(tmp_path))


def test_a_symlink_leads_to_its_target_and_a_dangling_one_is_refused(tmp_path: Path) -> None:
    (tmp_path / "real.conf").write_text("")
    (tmp_path / "link.conf").symlink_to(tmp_path / "real.conf")
    (tmp_path / "chain.conf").symlink_to(tmp_path / "link.conf")
    assert _config_file.write_target(str(tmp_path / "chain.conf")) == str(tmp_path / "real.conf")
    (tmp_path / "dangling.conf").symlink_to(tmp_path / "gone" / "x.conf")
    with pytest.raises(ConfigFileError, match=f"is a symbolic link to {tmp_path}/gone/x.conf, which does not exist"):
        _config_file.write_target(str(tmp_path / "dangling.conf"))


def test_stale_temp_files_of_this_module_go_and_no_others(tmp_path: Path) -> None:
    path = tmp_path / "docker-connector.conf"
    names = [
        ".docker-connector.conf.k2j3h4.tmp",
        ".docker-connector.conf.x.tmp",
        ".other.conf.abc.tmp",
        ".ansible_tmpabcdocker-connector.conf",
        "docker-connector.conf",
    ]
    for name in names:
        (tmp_path / name).write_text("")
    removed = _config_file.remove_stale_temp_files(str(path))
    assert sorted(removed) == sorted(str(tmp_path / n) for n in names[:2])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[2:])
