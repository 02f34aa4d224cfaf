# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the watch agent acts: it runs the collection's own playbooks, narrowed (issue 20: no second implementation).

Every resync is `ansible-playbook hostreach.kind.expose` (or `teardown` for a cluster that went) with the user's own
arguments, then extra variables that narrow it to the steps and clusters the events touched and keep it from writing
the user's summary file (_watch_plan.resync_vars): the agent reads the run's rows from the outcome its closing play
publishes (set_stats, printed as custom stats) and keeps that file itself, with the rows of every cluster. The runs
share a fact cache in the agent's state folder, so only the first gathers facts (the agent's machine and environment
do not change under it). docs/architecture.md has the figures that chose this over running the module code
in-process. A run is its own process group, so the agent can end it at once when it is asked to stop; the modules
write every file atomically, so an ended run leaves no half-written file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import typing as t

from ansible_collections.hostreach.kind.plugins.module_utils._run_output import OUTPUT_ENV, RECAP, closing_failures

# The closing play's published outcome (set_stats hostreach_kind_hosts), as the default callback prints custom stats
PUBLISHED = re.compile(r"^\tRUN: (\{.*\})$", re.M)
RUN_TIMEOUT = 900  # seconds: a run that takes longer is ended and counts as failed
STOP_GRACE = 3.0  # seconds a run gets to end after SIGTERM before SIGKILL


class Outcome(t.NamedTuple):
    ok: bool
    changed: int
    detail: str  # the failure's message (expose's diagnosis and hint), else ""
    seconds: float
    rows: list | None  # the summary rows of the run's clusters (None: the run failed, or had no services step)


def outcome_of(returncode: int, output: str, seconds: float, rows: list | None) -> Outcome:
    """What a run did, from its exit status, its recap and its closing summary."""
    recap = RECAP.search(output)
    changed = int(recap.group(1)) if recap else 0
    detail = "; ".join(closing_failures(output))
    if returncode != 0 and not detail:
        detail = f"ansible-playbook exited {returncode}: " + " ".join(output.strip().splitlines()[-3:])[-600:]
    return Outcome(returncode == 0, changed, detail, seconds, rows)


def write_atomically(path: str, text: str) -> bool:
    """Write `text` to `path` through a temporary file in its folder and a rename: a reader (or a kill) never sees half
    of it. False (and nothing written) when the file already holds exactly that."""
    try:
        with open(path, encoding="utf-8") as current:
            if current.read() == text:
                return False
    except OSError:
        pass
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".hostreach-kind-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return True


class Playbooks:
    """Runs hostreach.kind.<playbook> with the user's arguments and the agent's narrowing variables."""

    def __init__(self, user_args: t.Sequence, state_dir: str, ansible_playbook: str = "ansible-playbook") -> None:
        self.user_args, self.state_dir, self.ansible_playbook = list(user_args), state_dir, ansible_playbook
        self.running: subprocess.Popen | None = None
        self.stopping = False
        self.facts = os.path.join(state_dir, "facts")
        shutil.rmtree(self.facts, ignore_errors=True)  # an earlier agent's: this one's first run gathers its own
        self.env = {
            **os.environ,
            **OUTPUT_ENV,
            "ANSIBLE_CACHE_PLUGIN": "ansible.builtin.jsonfile",
            "ANSIBLE_CACHE_PLUGIN_CONNECTION": self.facts,
            "ANSIBLE_CACHE_PLUGIN_TIMEOUT": "0",
        }

    def run(self, playbook: str, extra_vars: dict) -> Outcome:
        narrowing = json.dumps({**extra_vars, "hostreach_kind_watch_run": True})
        command = [self.ansible_playbook, f"hostreach.kind.{playbook}", *self.user_args, "-e", narrowing]
        started = time.monotonic()
        self.running = subprocess.Popen(
            command, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, start_new_session=True
        )
        try:
            output = self.running.communicate(timeout=RUN_TIMEOUT)[0]
        except subprocess.TimeoutExpired:
            self.end()
            output = f"the run took longer than {RUN_TIMEOUT} s and was ended"
        returncode, self.running = self._returncode(), None
        services = "services" in extra_vars.get("hostreach_kind_steps", ["services"])
        return outcome_of(returncode, output, time.monotonic() - started, published_rows(output) if returncode == 0 and services else None)

    def _returncode(self) -> int:
        code = self.running.wait() if self.running else 1
        return 1 if self.stopping and code == 0 else code

    def end(self) -> None:
        """End the running run (if any): SIGTERM to its process group, SIGKILL after STOP_GRACE."""
        child = self.running
        if child is None or child.poll() is not None:
            return
        os.killpg(child.pid, signal.SIGTERM)
        try:
            child.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)


def published_rows(output: str) -> list | None:
    """The URL rows of every host of a run (nodeport_services_summary's), from the outcome its closing play published;
    None when the run published none."""
    found = PUBLISHED.search(output)
    try:
        hosts = json.loads(found.group(1))["hostreach_kind_hosts"] if found else None
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(hosts, dict):
        return None
    return [row for host in hosts.values() if isinstance(host, dict) for row in host.get("urls") or []]
