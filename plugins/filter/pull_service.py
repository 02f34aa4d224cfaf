# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Laptops that pull (issue 21, item 3): what roles/pull installs and what the doctor says of it.

expose.yml with -e hostreach_kind_pull=<repository URL> installs a timer (roles/_user_service) that runs the pull run
(extensions/pull/run.py: ansible-pull of the team's repository under a lock). The decisions are here, pure: the pull
run's command line and environment (pull_command, refusing a URL, branch, folder or playbook that ansible-pull would
read as more than itself) and the doctor's finding (pull_finding, from the run's status.json).
Documentation: one .yml per filter beside this file.
"""

from __future__ import annotations

import time
import typing as t

from ansible.errors import AnsibleFilterError
from ansible_collections.hostreach.kind.plugins.filter.user_service import (
    absolute_paths,
    last_failure,
    module_command,
    seconds_ago,
    service_finding,
    service_status,
)
from ansible_collections.hostreach.kind.plugins.module_utils._pull_source import source_problems

RUN_MODULE = "ansible_collections.hostreach.kind.extensions.pull.run"
LINK = "Pull"


def pull_command(url: object, python: object, root: object, state_dir: object, checkout: object, branch: object = "", playbook: object = "local.yml") -> dict:
    """The pull run's argv and environment: ``python`` (ansible-core and the SDKs; ansible-pull beside it) runs the pull
    run module from ``root`` (the folder holding ansible_collections/) on the repository ``url``."""
    absolute_paths("pull_command", python=python, root=root, state_dir=state_dir)
    problems = source_problems(url, checkout, branch, playbook)
    if problems:
        raise AnsibleFilterError("pull_command: " + "; ".join(problems))
    args = ["--url", url, "--checkout", checkout, "--state-dir", state_dir, "--playbook", playbook]
    return module_command(python, root, RUN_MODULE, args + (["--branch", branch] if branch else []))


def _ago(when: object, now: float) -> str:
    return seconds_ago(when, now) or "never"


def _last(status: dict, now: float) -> str:
    if not status.get("result"):
        return "it has not run yet"
    good = "no commit applied yet"
    if status.get("good_commit"):
        good = f"commit {str(status['good_commit'])[:12]} applied {_ago(status.get('good_run'), now)}"
    checkout = str(status.get("commit") or "none")[:12]
    return f"last run {_ago(status.get('last_run'), now)}: {status['result']} (checkout {checkout}); {good}"


def pull_finding(installed: object, running: object, status_text: object, manager: str, fix_start: str, log: str, now: object = None) -> dict:
    """The doctor's line for the pull timer: n/a when none is installed, broken when installed but not active or when
    its last run failed (with why, and the last commit applied), else ok with its last run (``status_text``: the
    run's status.json; ``log``: its pull.log, named in the fix)."""
    status, at = service_status(status_text), float(now) if now is not None else time.time()
    failure = last_failure(status, "failed")
    repair = f"fix the team repository ({log} has the whole run); the next run tries again, the machine keeps the last commit applied"
    fixes = ("-e hostreach_kind_pull=<repository URL>", fix_start, repair)
    return service_finding(LINK, "timer", manager, (installed, running, failure), _last(status, at), fixes)


class FilterModule:
    """hostreach.kind.pull_command, pull_finding"""

    def filters(self) -> dict[str, t.Callable]:
        return {"pull_command": pull_command, "pull_finding": pull_finding}
