"""Reading and atomically replacing the config file on a real temporary directory (issue 2, behaviours 6 and 9)."""

from __future__ import annotations

import os
from pathlib import Path

from ansible_collections.hostreach.kind.plugins.module_utils import _atomic_file as conf_file

NOT_UTF8 = b"# caf\xe9 (latin-1)\nroute 172.17.0.0/16\xff\n"


def test_any_bytes_survive_a_read_write_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "docker-connector.conf"
    path.write_bytes(NOT_UTF8)
    conf_file.atomic_write(str(path), conf_file.read_text(str(path)) + "mtu 1400\n")
    assert path.read_bytes() == NOT_UTF8 + b"mtu 1400\n"


def test_for_display_is_valid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "docker-connector.conf"
    path.write_bytes(NOT_UTF8)
    shown = conf_file.for_display(conf_file.read_text(str(path)))
    assert shown == "# caf\ufffd (latin-1)\nroute 172.17.0.0/16\ufffd\n"
    shown.encode("utf-8")


def test_missing_file_reads_as_none(tmp_path: Path) -> None:
    assert conf_file.read_text(str(tmp_path / "absent.conf")) is None


def test_replace_keeps_mode_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "docker-connector.conf"
    path.write_text("mtu 1400\n")
    path.chmod(0o600)
    inode = path.stat().st_ino
    conf_file.atomic_write(str(path), "mtu 1500\n")
    assert (path.read_text(), oct(path.stat().st_mode & 0o7777)) == ("mtu 1500\n", "0o600")
    assert path.stat().st_ino != inode
    assert [p.name for p in tmp_path.iterdir()] == ["docker-connector.conf"]


def test_new_file_gets_0644_under_a_strict_umask(tmp_path: Path) -> None:
    path = tmp_path / "docker-connector.conf"
    old = os.umask(0o077)
    try:
        conf_file.atomic_write(str(path), "route 172.17.0.0/16\n")
    finally:
        os.umask(old)
    assert oct(path.stat().st_mode & 0o777) == "0o644"


def test_lock_file_sits_next_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "docker-connector.conf"
    with conf_file.locked(str(path)):
        assert (tmp_path / ".docker-connector.conf.lock").exists()
    assert conf_file.lock_path(str(path)) == str(tmp_path / ".docker-connector.conf.lock")


def test_writable_dir_checks(tmp_path: Path) -> None:
    assert conf_file.check_writable_dir(str(tmp_path / "x.conf")) is None
    assert conf_file.check_writable_dir(str(tmp_path / "no" / "x.conf")) == f"directory {tmp_path / 'no'} does not exist"
