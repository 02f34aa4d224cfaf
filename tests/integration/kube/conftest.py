"""Fixtures for kind_nodeport's tests against the real tier 1 apiserver (helpers in kube_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest
import urllib3
from ansible_collections.hostreach.kind.plugins.modules import kind_nodeport

from harness.tier1 import Tier1
from tests import ansible_runner

from .kube_helpers import Kube


@pytest.fixture
def kube(tier1: Tier1) -> Kube:
    return Kube(tier1, tier1.core_v1())


class CountedRun:
    """A module's main() (kind_nodeport's unless another is given) in this process (ansible_runner.in_process); `requests` lists (method, path) of every
    API request made while it ran (the module's, and a concurrent writer's that a test slips in)."""

    def __init__(self) -> None:
        self.requests: list = []
        self.running = False

    def __call__(self, args: dict, check: bool = False, module: ModuleType = kind_nodeport) -> dict:
        self.requests.clear()
        self.running = True
        try:
            return ansible_runner.in_process(module, args, check=check)
        finally:
            self.running = False


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[CountedRun]:
    runner = CountedRun()
    request = urllib3.PoolManager.request  # where the module's requests and the SDK's generated calls both go

    def counting(pool, method, url, *args, **kwargs):
        if runner.running:
            runner.requests.append((method, url.split("://", 1)[-1].split("/", 1)[-1]))
        return request(pool, method, url, *args, **kwargs)

    monkeypatch.setattr(urllib3.PoolManager, "request", counting)
    yield runner
