# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Laptops that pull (issue 21, item 3): what a pull run may be given, and what it makes of ansible-pull's outcome.

The pull run (extensions/pull/run.py, on the timer roles/pull installs) runs `ansible-pull` on the team's repository.
Everything here is pure, for the run and for roles/pull's filters: the checks of the repository URL, branch, checkout
folder and playbook (source_problems) - ansible-pull passes the URL, folder and branch to the git module inside one
`name=... dest=... version=...` argument string that is split and then templated, so a space or a quote in them would
add arguments of the git module's own (`executable=`, ...), braces would run Jinja, and a leading `-` would be an
option: only an allow-list of characters passes - and the status a run leaves for the doctor (next_status):
what it applied, what it left unchanged, where it failed, and the last commit that was applied.
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.hostreach.kind.plugins.module_utils._run_output import failure_messages

# ansible-pull's line when --only-if-changed finds the checkout unchanged (it then runs no playbook)
UNCHANGED = "Repository has not changed, quitting"
# What the values may hold, and nothing else (an allow-list): ansible-pull writes them into the git module's
# `name=... dest=... version=...` argument string, which is split on spaces and quotes and then templated - so a space or
# a quote adds arguments, and `{{ }}`, `{% %}` or `{# #}` would run Jinja (lookups, commands) as the user.
SAFE = re.compile(r"[A-Za-z0-9._~:/@+=,%-]+")
ERROR = re.compile(r"^(?:\[ERROR\]|ERROR!):? ?(.+)$", re.M)
DETAIL_LIMIT = 400


def _word_problem(name: str, value: object, setting: str) -> str:
    if not isinstance(value, str):
        return f"{name} {value!r} is no string ({setting})"
    if value and not SAFE.fullmatch(value):
        return f"{name} {value!r} holds a character other than letters, digits and . _ ~ : / @ + = , % - ({setting}): give it without"
    if value.startswith("-"):
        return f"{name} {value!r} starts with '-' and would be read as an option ({setting})"
    return ""


def source_problems(url: object, checkout: object, branch: object = "", playbook: object = "local.yml") -> list[str]:
    """What is wrong with a pull run's repository ``url``, ``checkout`` folder, ``branch`` (empty: the default branch)
    and ``playbook`` (a path inside the repository); empty when all may be given to ansible-pull."""
    problems = [
        _word_problem("the repository URL", url, "hostreach_kind_pull"),
        _word_problem("the checkout folder", checkout, "pull_checkout_dir"),
        _word_problem("the branch", branch, "pull_branch"),
        _word_problem("the playbook", playbook, "pull_playbook"),
    ]
    if isinstance(url, str) and not url:
        problems.append("the repository URL is empty (hostreach_kind_pull): give the team repository's URL")
    if isinstance(checkout, str) and not checkout.startswith("/"):
        problems.append(f"the checkout folder {checkout!r} is not an absolute path (pull_checkout_dir)")
    if isinstance(playbook, str) and (not playbook or playbook.startswith("/") or ".." in playbook.split("/")):
        problems.append(f"the playbook {playbook!r} is not a path inside the repository (pull_playbook)")
    return [p for p in problems if p]


def failure_detail(output: str) -> str:
    """Why a run failed, from ansible-pull's output: the last failed task's message (expose's closing play names the
    step and its message), else ansible's last error line, else the last line."""
    messages = failure_messages(output)
    if messages:
        return _short(messages[-1])
    errors = ERROR.findall(output)
    if errors:
        return _short(errors[-1])
    lines = [line for line in output.splitlines() if line.strip()]
    return _short(lines[-1]) if lines else "ansible-pull said nothing"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= DETAIL_LIMIT else text[: DETAIL_LIMIT - 3] + "..."


def next_status(before: t.Mapping, returncode: int, output: str, commit: str, now: float) -> dict:
    """The status after a run (``before``: the last one): applied (the playbook ran and passed: this commit is the new
    good state), unchanged (the repository had not changed: nothing ran) or failed (with why; the good state stays
    the last one applied)."""
    good = {"good_commit": before.get("good_commit", ""), "good_run": before.get("good_run")}
    if returncode != 0:
        return {"result": "failed", "last_run": now, "commit": commit, "detail": failure_detail(output), **good}
    if UNCHANGED in output:
        return {"result": "unchanged", "last_run": now, "commit": commit, "detail": "", **good}
    return {"result": "applied", "last_run": now, "commit": commit, "detail": "", "good_commit": commit, "good_run": now}


def only_if_changed(before: t.Mapping) -> bool:
    """Whether a run skips the playbook when the repository is unchanged: yes after a run that passed; after a failed
    run (or none yet) the playbook runs again, so a failure that was not the repository's (the engine down) heals."""
    return before.get("result") in ("applied", "unchanged")
