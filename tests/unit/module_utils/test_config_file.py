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


# Run as root (this test machine is root): the folder of the configured path stands for Homebrew's etc/, owned by the
# Homebrew owner (BREW, a scratch uid); OTHER is a third user. A link there may not send root's write elsewhere.
BREW, OTHER = 12345, 54321
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="the root-only guard needs root to chown")


def _owned(path: Path, uid: int) -> Path:
    os.chown(path, uid, uid, follow_symlinks=False)
    return path


@pytest.fixture
def brew_etc(tmp_path: Path) -> Path:
    (tmp_path / "etc").mkdir()
    return _owned(tmp_path / "etc", BREW)


def _link(link: Path, to: Path, uid: int) -> Path:
    link.symlink_to(to)
    return _owned(link, uid)


@as_root
def test_root_refuses_a_brew_owners_link_to_roots_file_and_writes_nothing(tmp_path: Path, brew_etc: Path) -> None:
    secret = tmp_path / "sudoers"
    secret.write_text("root ALL=(ALL) ALL\n")
    link = _link(brew_etc / "docker-connector.conf", secret, BREW)
    with pytest.raises(ConfigFileError) as caught:
        _config_file.write_target(str(link))
    message = str(caught.value)
    assert f"refusing to write {link} as root: {link} is a symbolic link to {secret}, which belongs to uid 0 (root)" in message
    assert f"while {brew_etc} belongs to uid {BREW}" in message and "remove the link" in message
    assert "ALL=(ALL)" not in message  # nothing of the target's text
    assert secret.read_text() == "root ALL=(ALL) ALL\n" and link.is_symlink()


@as_root
def test_root_writes_the_brew_owners_file_keeping_owner_and_mode(brew_etc: Path, module: AnsibleModule) -> None:
    path = brew_etc / "docker-connector.conf"
    path.write_text("mtu 1400\n")
    _owned(path, BREW)
    path.chmod(0o640)
    target = _config_file.write_target(str(path))
    _config_file.write(module, target, "mtu 1500\n")
    meta = path.stat()
    assert (path.read_text(), meta.st_uid, meta.st_gid, oct(meta.st_mode & 0o7777)) == ("mtu 1500\n", BREW, BREW, "0o640")


@as_root
def test_roots_new_file_belongs_to_the_folders_owner(brew_etc: Path, module: AnsibleModule) -> None:
    path = brew_etc / "docker-connector.conf"
    _config_file.write(module, _config_file.write_target(str(path)), "route 172.17.0.0/16\n")
    meta = path.stat()
    assert (meta.st_uid, meta.st_gid, oct(meta.st_mode & 0o777)) == (BREW, BREW, "0o644")


@as_root
def test_root_follows_a_brew_owners_link_to_a_brew_owned_file(brew_etc: Path) -> None:
    real = brew_etc / "real.conf"
    real.write_text("")
    link = _link(brew_etc / "docker-connector.conf", _owned(real, BREW), BREW)
    assert _config_file.write_target(str(link)) == str(real)


@pytest.mark.parametrize(
    ("link_owner", "file_owner", "refused"),
    [
        (BREW, BREW, None),
        (0, BREW, None),
        (BREW, 0, "which belongs to uid 0 \\(root\\)"),
        (OTHER, BREW, f"belongs to uid {OTHER}, not to uid {BREW}"),
        (BREW, OTHER, f"which belongs to uid {OTHER}"),
        (0, 0, "which belongs to uid 0 \\(root\\)"),
    ],
)
@as_root
def test_roots_rule_for_links_and_files(tmp_path: Path, brew_etc: Path, link_owner: int, file_owner: int, refused: str | None) -> None:
    real = tmp_path / "elsewhere.conf"  # outside the folder: a dotfile manager's file is the owner's and allowed
    real.write_text("")
    link = str(_link(brew_etc / "docker-connector.conf", _owned(real, file_owner), link_owner))
    if refused is None:
        assert _config_file.write_target(link) == str(real)
    else:
        with pytest.raises(ConfigFileError, match=refused):
            _config_file.write_target(link)


@as_root
def test_root_refuses_a_plain_file_of_another_user_in_the_folder(brew_etc: Path) -> None:
    path = brew_etc / "docker-connector.conf"
    path.write_text("")  # root's: a hard link to a root file looks the same
    with pytest.raises(ConfigFileError, match=f"{path} belongs to uid 0 \\(root\\), while {brew_etc} belongs to uid {BREW}"):
        _config_file.write_target(str(path))


@as_root
def test_root_refuses_a_new_file_through_a_linked_folder(tmp_path: Path) -> None:
    rootdir = tmp_path / "rootdir"
    rootdir.mkdir()
    _link(tmp_path / "etc", rootdir, BREW)
    with pytest.raises(ConfigFileError, match=f"the new file would go in {rootdir}, which belongs to uid 0"):
        _config_file.write_target(str(tmp_path / "etc" / "docker-connector.conf"))
    assert list(rootdir.iterdir()) == []


def test_a_non_root_run_writes_through_any_link_as_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = tmp_path / "real.conf"
    real.write_text("")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "docker-connector.conf").symlink_to(real)
    if os.geteuid() == 0:
        _owned(tmp_path / "etc", BREW)
    monkeypatch.setattr(os, "geteuid", lambda: BREW)
    assert _config_file.write_target(str(tmp_path / "etc" / "docker-connector.conf")) == str(real)


@as_root
def test_in_roots_folder_root_writes_a_users_file_but_not_through_a_users_link(tmp_path: Path) -> None:
    """A folder only root can write holds what root chose; a user's link there (a sticky /tmp) is still refused."""
    users = tmp_path / "users.conf"
    users.write_text("")
    _owned(users, BREW)
    assert _config_file.write_target(str(users)) == str(users)
    link = _link(tmp_path / "docker-connector.conf", users, OTHER)
    with pytest.raises(ConfigFileError, match=f"the symbolic link {link} -> {users} belongs to uid {OTHER}, not to uid 0 \\(root\\)"):
        _config_file.write_target(str(link))
