"""How docker_bridge_routes writes the file: an atomic replace keeping mode and owner, 0644 for a new file, backups,
concurrent runs that lose no line, symlinked configs, runs as root and as the file's user, leftover temp files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.ansible_runner import adhoc, adhoc_many

from .bridge_routes_helpers import subnets

pytestmark = pytest.mark.docker


def test_write_is_an_atomic_replace_that_keeps_mode_and_owner(networks, conf: Path) -> None:
    a = networks.create("a")
    conf.write_text("mtu 1400\n")
    os.chmod(conf, 0o640)
    os.chown(conf, 4321, 8765)
    inode = conf.stat().st_ino
    result = adhoc("docker_bridge_routes", {"path": str(conf), "networks": [a["Name"]]})
    assert result["changed"] is True
    after = conf.stat()
    assert after.st_ino != inode  # replaced by rename, never rewritten in place
    assert (oct(after.st_mode & 0o7777), after.st_uid, after.st_gid) == ("0o640", 4321, 8765)
    assert conf.read_text() == f"mtu 1400\nroute {subnets(a)[0]} # hostreach.kind bridge\n"
    assert sorted(p.name for p in conf.parent.iterdir()) == ["docker-connector.conf"]  # no temp file, no lock file


def test_a_new_file_gets_mode_0644_whatever_the_umask(networks, conf: Path) -> None:
    a = networks.create("a")
    old = os.umask(0o077)
    try:
        result = adhoc("docker_bridge_routes", {"path": str(conf), "networks": [a["Name"]]})
    finally:
        os.umask(old)
    assert result["changed"] is True
    assert oct(conf.stat().st_mode & 0o777) == "0o644"


def test_backup_leaves_a_copy_and_returns_its_path(networks, conf: Path) -> None:
    a = networks.create("a")
    conf.write_text("# before\n")
    result = adhoc("docker_bridge_routes", {"path": str(conf), "networks": [a["Name"]], "backup": True})
    backup = Path(result["backup_file"])
    assert backup.parent == conf.parent and backup.name.startswith("docker-connector.conf.")
    assert backup.read_text() == "# before\n"
    assert conf.read_text() == f"# before\nroute {subnets(a)[0]} # hostreach.kind bridge\n"
    again = adhoc("docker_bridge_routes", {"path": str(conf), "networks": [a["Name"]], "backup": True})
    assert again["changed"] is False and "backup_file" not in again


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_runs_on_one_file_lose_no_line(networks, conf: Path, round_: int) -> None:
    """Eight `ansible` runs at once, each adding its own network to the same file."""
    made = [networks.create(f"c{i}") for i in range(8)]
    conf.write_text("addr 192.168.251.1/24\n")
    results = adhoc_many("docker_bridge_routes", [{"path": str(conf), "networks": [n["Name"]]} for n in made])
    assert all(r["changed"] is True for r in results), results
    lines = conf.read_text().splitlines()
    assert lines[0] == "addr 192.168.251.1/24"
    assert sorted(lines[1:]) == sorted(f"route {subnets(n)[0]} # hostreach.kind bridge" for n in made)
    assert {r["added"][0] for r in results} == {subnets(n)[0] for n in made}


def test_a_symlinked_config_is_written_through_and_stays_a_link(networks, conf: Path, tmp_path: Path) -> None:
    """Homebrew setups and dotfile managers link the config into another folder: the target gets the lines."""
    a = networks.create("a")
    (tmp_path / "dotfiles").mkdir()
    target = tmp_path / "dotfiles" / "docker-connector.conf"
    target.write_text("mtu 1400\n")
    conf.symlink_to(target)
    result = adhoc("docker_bridge_routes", {"path": str(conf), "networks": [a["Name"]]})
    assert result["changed"] is True
    assert conf.is_symlink() and os.readlink(conf) == str(target)
    assert target.read_text() == f"mtu 1400\nroute {subnets(a)[0]} # hostreach.kind bridge\n"
    again = adhoc("docker_bridge_routes", {"path": str(conf), "networks": [a["Name"]]})
    assert again["changed"] is False and conf.is_symlink()


def test_a_dangling_symlink_is_an_error_naming_its_target(networks, conf: Path, tmp_path: Path) -> None:
    a = networks.create("a")
    target = tmp_path / "gone" / "docker-connector.conf"
    conf.symlink_to(target)
    result = adhoc("docker_bridge_routes", {"path": str(conf), "networks": [a["Name"]]})
    assert result.get("failed") is True
    assert f"{conf} is a symbolic link to {target}, which does not exist" in result["msg"]
    assert conf.is_symlink() and not target.exists()
    assert sorted(p.name for p in conf.parent.iterdir()) == ["docker-connector.conf"]


def test_a_run_as_root_never_blocks_a_later_run_as_the_user(networks, nobody, shared_dir: Path) -> None:
    """A run as root leaves nothing root-owned behind (no .lock file) that a later run as the file's user could not open."""
    a, b = networks.create("a"), networks.create("b")
    conf = shared_dir / "docker-connector.conf"
    conf.write_text("mtu 1400\n")
    os.chown(shared_dir, *nobody.as_user)
    os.chown(conf, *nobody.as_user)
    assert adhoc("docker_bridge_routes", {"path": str(conf), "networks": [a["Name"]]})["changed"] is True  # as root
    as_user = adhoc("docker_bridge_routes", {"path": str(conf), "networks": [a["Name"], b["Name"]]}, as_user=nobody.as_user, home=nobody.home)
    assert as_user.get("failed") is not True, as_user
    assert as_user["added"] == subnets(b)
    assert conf.read_text() == f"mtu 1400\nroute {subnets(a)[0]} # hostreach.kind bridge\nroute {subnets(b)[0]} # hostreach.kind bridge\n"
    assert (conf.stat().st_uid, conf.stat().st_gid) == nobody.as_user
    assert sorted(p.name for p in shared_dir.iterdir()) == ["docker-connector.conf"]


def test_a_file_the_user_cannot_replace_keeping_its_owner_fails_alike_in_check_mode(networks, nobody, shared_dir: Path) -> None:
    """The user may write the folder, but the file is root's: replacing it would make it the user's."""
    a = networks.create("a")
    conf = shared_dir / "docker-connector.conf"
    conf.write_text("mtu 1400\n")
    os.chown(shared_dir, *nobody.as_user)
    for check in (True, False):
        result = adhoc("docker_bridge_routes", {"path": str(conf), "networks": [a["Name"]]}, check=check, as_user=nobody.as_user, home=nobody.home)
        assert result["failed"] is True, check
        assert result["msg"] == (
            f"cannot write {conf}: it is owned by uid 0 and this task runs as uid {nobody.uid}: replacing it would make it yours. "
            "Run the task as its owner or as root (become: true), or give it to this user (chown); nothing was changed"
        )
    assert conf.read_text() == "mtu 1400\n" and conf.stat().st_uid == 0


def test_temp_files_a_killed_run_left_are_removed_and_reported(networks, conf: Path) -> None:
    a = networks.create("a")
    conf.write_text("mtu 1400\n")
    stale = [conf.parent / ".docker-connector.conf.abc123.tmp", conf.parent / ".docker-connector.conf.zz9.tmp"]
    other = conf.parent / ".unrelated.conf.abc123.tmp"
    for path in [*stale, other]:
        path.write_text("half a file")
    check = adhoc("docker_bridge_routes", {"path": str(conf), "networks": [a["Name"]]}, check=True)
    assert all(p.exists() for p in stale)  # check mode removes nothing
    assert "removed_temp_files" not in check
    result = adhoc("docker_bridge_routes", {"path": str(conf), "networks": [a["Name"]]})
    assert sorted(result["removed_temp_files"]) == sorted(str(p) for p in stale)
    assert sorted(p.name for p in conf.parent.iterdir()) == [".unrelated.conf.abc123.tmp", "docker-connector.conf"]


@pytest.mark.parametrize("path", ["", "{etc}/"])
def test_a_path_that_names_no_file_fails_before_anything_is_made(networks, conf: Path, path: str) -> None:
    a = networks.create("a")
    result = adhoc("docker_bridge_routes", {"path": path.format(etc=conf.parent), "networks": [a["Name"]]})
    assert result["failed"] is True
    assert "names no file: give the configuration file's full path" in result["msg"]
    assert list(conf.parent.iterdir()) == []


@pytest.mark.parametrize("check", [True, False])
def test_as_root_a_folder_owners_link_to_roots_file_is_refused_unread(networks, nobody, shared_dir: Path, tmp_path: Path, check: bool) -> None:
    """Homebrew's etc/ is its owner's: a link there to a root file must not make root append to it, nor show it in --diff."""
    a = networks.create("a")
    secret = tmp_path / "sudoers"
    secret.write_text("root ALL=(ALL) ALL\n")
    secret.chmod(0o600)
    conf = shared_dir / "docker-connector.conf"
    conf.symlink_to(secret)
    os.chown(conf, *nobody.as_user, follow_symlinks=False)
    os.chown(shared_dir, *nobody.as_user)
    result = adhoc("docker_bridge_routes", {"path": str(conf), "networks": [a["Name"]]}, check=check, diff=True)  # as root
    assert result.get("failed") is True, result
    assert f"refusing to write {conf} as root: {conf} is a symbolic link to {secret}, which belongs to uid 0 (root)" in result["msg"]
    assert "ALL=(ALL)" not in str(result)
    assert secret.read_text() == "root ALL=(ALL) ALL\n" and conf.is_symlink()
    assert sorted(p.name for p in shared_dir.iterdir()) == ["docker-connector.conf"]
