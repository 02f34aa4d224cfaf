"""The watch agent as `make watch` runs it (python -m ansible_collections.hostreach.kind.extensions.watch.agent -- <expose's
arguments>), for the kind tests and benchmarks/watch_bench.py.

`WatchAgent.start(extra_vars)` starts it in its own process group with this venv and the collection as make link has
it, its output in a file; `wait_line(pattern)` waits for a line of that output; `signal(sig)` sends one and returns
how long it took to end. The agent's state (settings, status, its runs' summary) is in its own folder.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .versions import REPO_ROOT

BIN = Path(sys.executable).parent  # this venv's: python, ansible-playbook
COLLECTIONS = REPO_ROOT / ".build" / "collections"  # the collection as `make link` has it
AGENT_MODULE = "ansible_collections.hostreach.kind.extensions.watch.agent"


@dataclass
class WatchAgent:
    state_dir: Path
    log_file: Path
    process: subprocess.Popen | None = None
    read_upto: int = 0
    lines: list = field(default_factory=list)

    def start(self, extra_vars: dict, interval: float = 600, prefix: tuple = ()) -> None:
        """`prefix`: a command the agent runs through, e.g. `("ip", "netns", "exec", name)` for the Mac namespace."""
        env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}  # the engine the tests' playbooks ask
        env.update(ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), PYTHONPATH=str(COLLECTIONS), PATH=f"{BIN}:{env['PATH']}", ANSIBLE_LOCALHOST_WARNING="0")
        agent = [str(BIN / "python"), "-m", AGENT_MODULE, "--interval", str(interval), "--state-dir", str(self.state_dir)]
        command = [*prefix, *agent, "--", "-e", json.dumps(extra_vars)]
        self.read_upto, self.lines = 0, []
        with self.log_file.open("w") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    def output(self) -> str:
        return self.log_file.read_text()

    def wait_line(self, pattern: str, timeout: float = 120) -> re.Match:
        """The first line from here on that matches `pattern` (later waits start after it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.output().splitlines()
            for index in range(self.read_upto, len(lines)):
                found = re.search(pattern, lines[index])
                if found:
                    self.read_upto = index + 1
                    return found
            if self.process.poll() is not None:
                raise AssertionError(f"the agent ended (status {self.process.returncode}) before printing /{pattern}/:\n{self.output()}")
            time.sleep(0.2)
        raise AssertionError(f"no line /{pattern}/ within {timeout} s:\n{self.output()}")

    def signal(self, sig: int, timeout: float = 30) -> float:
        started = time.monotonic()
        os.kill(self.process.pid, sig)
        self.process.wait(timeout)
        return time.monotonic() - started

    def stop(self) -> None:
        """End the agent and any run of its (the test's cleanup)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)

    def status(self) -> dict:
        return json.loads((self.state_dir / "status.json").read_text())
