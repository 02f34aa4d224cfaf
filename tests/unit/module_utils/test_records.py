"""Where the records of what expose put in for a cluster live, and what is read from them (module_utils/_records)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils import _records


def test_the_records_follow_xdg_state_home_and_else_the_homes_local_state() -> None:
    assert _records.directory("routes", {"XDG_STATE_HOME": "/var/state/dev"}, "/home/dev") == "/var/state/dev/hostreach-kind/routes"
    assert _records.directory("dns", {}, "/home/dev") == "/home/dev/.local/state/hostreach-kind/dns"
    # A relative XDG_STATE_HOME is invalid and ignored (XDG Base Directory Specification).
    assert _records.directory("dns", {"XDG_STATE_HOME": "state"}, "/home/dev") == "/home/dev/.local/state/hostreach-kind/dns"


@pytest.mark.parametrize("text", [None, "", "not json", "[1, 2]", '"routes"', "null"])
def test_a_missing_or_unreadable_record_is_none(text: str | None) -> None:
    assert _records.parse(text) is None


def test_a_record_reads_back_as_written_and_lists_beside_the_others(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    class Module:
        def __init__(self) -> None:
            self.params: dict = {}

        @staticmethod
        def atomic_move(source: str, target: str, unsafe_writes: bool = False) -> None:
            os.rename(source, target)

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    record = {"cluster": "dev", "routes": [{"cidr": "10.96.0.0/16", "via": "172.18.0.2"}]}
    assert _records.write(Module(), "routes", "dev", record) is True
    assert _records.write(Module(), "routes", "dev", record) is False  # the same record: not written again
    folder = tmp_path / "hostreach-kind" / "routes"
    assert oct(folder.stat().st_mode & 0o777) == "0o700" and _records.read("routes", "dev") == record
    (folder / "broken.json").write_text("{")
    (folder / "notes.txt").write_text("{}")
    _records.write(Module(), "routes", "other", {"cluster": "other"})
    assert _records.others("routes", "dev") == {"other": {"cluster": "other"}}
    assert _records.remove("routes", "dev") is True and _records.remove("routes", "dev") is False
    assert _records.read("routes", "dev") is None


def test_a_record_that_cannot_be_written_is_a_warning_not_a_failure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    class Module:
        def __init__(self) -> None:
            self.params: dict = {}
            self.warnings: list = []

        def warn(self, text: str) -> None:
            self.warnings.append(text)

    (tmp_path / "hostreach-kind").write_text("a file where the folder would go")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    module = Module()
    _records.keep(module, "routes", "dev", {"cluster": "dev"})
    (warning,) = module.warnings
    assert warning.startswith("cannot ") and f"{tmp_path}/hostreach-kind/routes" in warning
    assert warning.endswith("once cluster dev is gone, state=absent will not find what this run put in for it")
