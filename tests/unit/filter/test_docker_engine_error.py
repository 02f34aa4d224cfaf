"""The Docker SDK's error text mapped to its cause once (issue 19, item 3)."""

from __future__ import annotations

import pytest
from ansible_collections.hostreach.kind.plugins.filter.docker_engine_error import docker_engine_error

SOCKET = "unix:///var/run/docker.sock"


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        ("Error connecting: ('Connection aborted.', FileNotFoundError(2, 'No such file or directory'))", "nothing listens at that path"),
        ("PermissionError(13, 'Permission denied')", "permission denied: this user may not use that socket"),
        ("[Errno 111] Connection refused", "connection refused"),
        ("Read Timed Out", "no answer in time"),
        ("something else entirely", "something else entirely"),
    ],
)
def test_the_message_names_the_endpoint_the_cause_and_who_needed_it(error: str, cause: str) -> None:
    message = docker_engine_error(error, SOCKET, "/usr/bin/python3", "the connector\n  step needs it")
    assert message.startswith(f"No Docker engine answers at {SOCKET} ({cause}), and the connector step needs it. Start the engine")
    assert "hostreach_kind_docker_host" in message


def test_a_missing_sdk_names_the_interpreter_not_the_engine() -> None:
    message = docker_engine_error("Failed to import the required Python library (Docker SDK for Python)", SOCKET, "/opt/py/bin/python", "x")
    assert message.startswith(f"The interpreter /opt/py/bin/python cannot ask the Docker engine at {SOCKET}: Failed to import")
    assert "No Docker engine answers" not in message
