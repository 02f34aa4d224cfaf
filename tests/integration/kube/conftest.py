"""Fixtures for kind_nodeport's tests against the real tier 1 apiserver (helpers in kube_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from harness.tier1 import Tier1
from kube_helpers import InProcess, Kube
from kubernetes import client


@pytest.fixture
def kube(tier1: Tier1) -> Kube:
    return Kube(tier1, tier1.core_v1())


@pytest.fixture
def in_process(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> Iterator[InProcess]:
    runner = InProcess(capsys, [])
    call_api = client.ApiClient.call_api

    def counting(api_client, method, url, *args, **kwargs):
        if runner.running:
            runner.requests.append((method, url.split("://", 1)[-1].split("/", 1)[-1]))
        return call_api(api_client, method, url, *args, **kwargs)

    monkeypatch.setattr(client.ApiClient, "call_api", counting)
    yield runner
