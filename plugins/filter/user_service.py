# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A program of this collection as the user's own service (roles/_user_service): the watch agent (roles/watch) runs all
the time, the pull run (roles/pull) on a timer.

What the private role writes is decided here, pure: the folder the collection is installed in (collections_root), the
command that runs a module of it (module_command, with absolute_paths: helpers of the watch and pull filters), a
systemd unit's ExecStart= and Environment= (service_exec), and a launchd LaunchAgent's plist (service_plist); and how
the doctor reads such a program's status.json and words its line (service_status, service_finding: helpers of the
watch and pull filters).
Documentation: one .yml per filter beside this file.
"""

from __future__ import annotations

import json
import math
import os
import plistlib
import re
import typing as t

from ansible.errors import AnsibleFilterError
from ansible_collections.hostreach.kind.plugins.filter.chain import finding


def collections_root(role_path: object) -> str:
    """The folder holding ansible_collections/, from the path of one of this collection's roles
    (<root>/ansible_collections/hostreach/kind/roles/<role>)."""
    parts = os.path.normpath(str(role_path)).split(os.sep)
    if len(parts) < 6 or parts[-2] != "roles" or parts[-5] != "ansible_collections" or not os.path.isabs(str(role_path)):
        raise AnsibleFilterError(
            f"collections_root: {role_path!r} is not a role of an installed collection (<root>/ansible_collections/hostreach/kind/roles/<role>)"
        )
    return os.sep.join(parts[:-5]) or os.sep


def absolute_paths(caller: str, **paths: object) -> None:
    """AnsibleFilterError from ``caller`` naming the first of ``paths`` that is not an absolute path."""
    for name, value in paths.items():
        if not isinstance(value, str) or not os.path.isabs(value):
            raise AnsibleFilterError(f"{caller}: {name} {value!r} is not an absolute path")


def module_command(python: str, root: str, module: str, args: list) -> dict:
    """The argv and environment that run ``module`` of this collection with ``python`` from ``root`` (the folder
    holding ansible_collections/): the command of a user service (the watch agent, the pull run)."""
    return {"argv": [python, "-m", module, *args], "environment": {"ANSIBLE_COLLECTIONS_PATH": root, "PYTHONPATH": root, "PYTHONUNBUFFERED": "1"}}


def _systemd_word(word: str, environment: bool) -> str:
    """One argument of ExecStart=, quoted as systemd.service(5) unquotes it; `%` doubled (no specifiers) and, in
    ExecStart= only, `$` (no variables; Environment= expands none)."""
    if any(ord(c) < 32 for c in word):
        raise AnsibleFilterError(f"service_exec: {word!r} holds a control character")
    word = word.replace("%", "%%") if environment else word.replace("%", "%%").replace("$", "$$")
    if word and re.fullmatch(r"[A-Za-z0-9_@%+=:,./-]+", word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def service_exec(argv: object, environment: bool = False) -> str:
    """The value of ExecStart= that runs exactly ``argv`` (or, with ``environment``, of Environment= that sets exactly
    ["KEY=value", ...])."""
    if not isinstance(argv, list) or not argv or not all(isinstance(w, str) for w in argv):
        raise AnsibleFilterError(f"service_exec: {argv!r} is no list of strings")
    return " ".join(_systemd_word(w, bool(environment)) for w in argv)


def service_plist(command: object, label: str, log: str, every: object = 0) -> str:
    """The LaunchAgent: ``command`` ({argv, environment}) at login (RunAtLoad), its output in ``log``; with ``every``
    0 started again when it fails (KeepAlive SuccessfulExit false, at most every ThrottleInterval s), else started every
    ``every`` seconds (StartInterval; launchd never starts a job that still runs)."""
    if not isinstance(command, dict) or not isinstance(command.get("argv"), list):
        raise AnsibleFilterError(f"service_plist: {command!r} is no command (argv and environment)")
    try:
        seconds = int(every)
    except (TypeError, ValueError):
        seconds = -1
    if seconds < 0:
        raise AnsibleFilterError(f"service_plist: every {every!r} is no whole number of seconds (0: the program runs all the time)")
    job = {
        "Label": label,
        "ProgramArguments": command["argv"],
        "EnvironmentVariables": command.get("environment", {}),
        "RunAtLoad": True,
        "ProcessType": "Background",
        "StandardOutPath": log,
        "StandardErrorPath": log,
    }
    job |= {"StartInterval": seconds} if seconds else {"KeepAlive": {"SuccessfulExit": False}, "ThrottleInterval": 10}
    return plistlib.dumps(job, sort_keys=True).decode()


def service_status(text: object) -> dict:
    """A service's status.json as the doctor reads it (the agent's, the pull run's): {} when there is none yet, and
    {"unreadable": why} when what is there is no JSON object (the program writes it atomically: something else did)."""
    if not isinstance(text, str) or not text:
        return {}
    try:
        status = json.loads(text)
    except ValueError as exc:
        return {"unreadable": f"status.json is not JSON: {exc}"}
    return status if isinstance(status, dict) else {"unreadable": f"status.json holds a {type(status).__name__}, not an object"}


def last_failure(status: dict, failed: str) -> str:
    """Why the program's last run failed (its status.json's result is ``failed``), "" when it did not; a status.json
    that cannot be read says nothing good, so it is a failure too."""
    if status.get("unreadable"):
        return f"{status['unreadable']} (the next run writes it anew)"
    return (status.get("detail") or "no detail") if status.get("result") == failed else ""


def seconds_ago(when: object, now: float) -> str:
    """ "N s ago" for a time in a status.json (seconds since the epoch), "" when it is no finite number."""
    if isinstance(when, bool) or not isinstance(when, (int, float)) or not math.isfinite(when):
        return ""
    return f"{max(0, round(now - when))} s ago"


# How a line names the program's state: a service runs, a timer is active.
STATE_WORDS = {"service": ("runs", "running"), "timer": ("is active", "active")}


def service_finding(link: str, kind: str, manager: str, seen: tuple, last: str, fixes: tuple) -> dict:
    """The doctor's line for a user service (``kind`` service or timer): n/a when not installed, broken when installed
    but not running or when its last run failed, else ok. ``seen``: (installed, running, why the last run failed or
    ""); ``last``: what its status.json says of the last run; ``fixes``: (how expose installs it, the command that
    starts it, what to do when the last run failed)."""
    installed, running, failure = seen
    install, start, repair = fixes
    runs, running_word = STATE_WORDS[kind]
    if not installed:
        return finding(link, "n/a", f"no {manager} {kind} installed ({install} on expose installs it); {last}")
    if not running:
        return finding(link, "broken", f"the {manager} {kind} is installed but not {running_word}; {last}", start)
    if failure:
        return finding(link, "broken", f"the {manager} {kind} {runs}; {last}: {failure}", repair)
    return finding(link, "ok", f"the {manager} {kind} {runs}; {last}")


class FilterModule:
    """hostreach.kind.collections_root, service_exec, service_plist"""

    def filters(self) -> dict[str, t.Callable]:
        return {"collections_root": collections_root, "service_exec": service_exec, "service_plist": service_plist}
