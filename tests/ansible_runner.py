"""The one way tests run the collection's modules and playbooks.

- `in_process(module, args)`: the module's main() in this process, with Ansible's own argument patching (nothing
  mocked); for argument checks, and for tests that count the module's requests or inject faults around a real client.
- `adhoc(name, args)`: `ansible localhost -m hostreach.kind.<name>`, as a user runs a module: the AnsiballZ
  packaging, the target interpreter (`python`), the JSON result of the task. `as_user` runs it as another
  (uid, gid); `adhoc_many` runs several at once.
- `playbook_task(name, args)`: the module as one task of a play run by `ansible-playbook`; `playbook_results(tasks)`
  for a play of several tasks; `playbook(play)` for the collection's playbooks, with the output a user sees.
All of them use this venv's Ansible and the collection as .build/collections links it (make link). Every CLI run is
on the implicit localhost, as `ansible localhost` and `ansible-playbook` without an inventory run it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from ansible.module_utils.testing import patch_module_args

REPO = Path(__file__).resolve().parents[1]
COLLECTIONS = REPO / ".build" / "collections"
BIN = Path(sys.executable).parent
TIMEOUT = 600  # seconds one ansible run may take: a hung run fails its test, not the whole suite
# This venv's python can be one only root may execute (a pyenv build under /root): a module run as another user runs
# on the system's Python 3 (the same minor version) with this venv's packages on its path.
SYSTEM_PYTHON = "/usr/bin/python3"
SITE_PACKAGES = sysconfig.get_paths()["purelib"]


def ansible_env(extra: dict | None = None, home: str | None = None) -> dict:
    """The environment of an `ansible` or `ansible-playbook` run: this collection, JSON results, no colour, no
    DOCKER_HOST of the caller's (a test that wants one passes it in `extra`)."""
    env = dict(os.environ)
    env.pop("DOCKER_HOST", None)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
    )
    if home is not None:  # another user: Ansible's own temp files go where that user may write
        env.update(HOME=home, ANSIBLE_HOME=f"{home}/.ansible", ANSIBLE_LOCAL_TEMP=f"{home}/.ansible/tmp", ANSIBLE_REMOTE_TEMP=f"{home}/.ansible/tmp")
    env.update(extra or {})
    return env


def in_process(module: ModuleType, args: dict, check: bool = False, diff: bool = True) -> dict:
    """`module.main()` run here; its result as exit_json or fail_json printed it."""
    out = io.StringIO()
    with patch_module_args({**args, "_ansible_check_mode": check, "_ansible_diff": diff}), contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        module.main()
    return json.loads(out.getvalue())


def _modes(check: bool, diff: bool) -> list:
    return ["--check"] * check + ["--diff"] * diff


def _adhoc_command(name: str, args: dict, check: bool = False, diff: bool = False, python: str = sys.executable) -> list:
    module = ["-m", f"hostreach.kind.{name}", "-a", json.dumps(args), "-e", f"ansible_python_interpreter={python}"]
    return [str(BIN / "ansible"), "localhost", "-c", "local", *module, *_modes(check, diff)]


def _report(stdout: str, stderr: str, returncode: int) -> dict:
    """The JSON the ansible.posix.json callback printed, or the test fails showing what was printed instead."""
    try:
        return json.loads(stdout)
    except ValueError:
        pytest.fail(f"ansible printed no JSON (rc={returncode}):\n{stdout}\n{stderr}")


def _task_result(report: dict) -> dict:
    """The first task's result on localhost, with the run's stats for it as `_stats` (ok, changed, failures...)."""
    result = report["plays"][0]["tasks"][0]["hosts"]["localhost"]
    result["_stats"] = report["stats"]["localhost"]
    return result


def adhoc(
    name: str,
    args: dict,
    *,
    check: bool = False,
    diff: bool = False,
    env: dict | None = None,
    python: str | None = None,
    as_user: tuple | None = None,
    home: str | None = None,
) -> dict:
    """`ansible localhost -m hostreach.kind.<name> -a <args>`; the task's result (with `_stats`).

    `python` is the target interpreter (this venv's by default). `as_user=(uid, gid)` runs `ansible` itself as that
    user with only that group, the module on SYSTEM_PYTHON unless `python` says otherwise; it needs a `home` that
    user may write (Ansible keeps its temp files there; it is also the working directory)."""
    if as_user is None:
        command = _adhoc_command(name, args, check, diff, python or sys.executable)
    else:
        command = _adhoc_command(name, args, check, diff, python or SYSTEM_PYTHON)
        command = ["setpriv", f"--reuid={as_user[0]}", f"--regid={as_user[1]}", "--clear-groups", *command]
        env = {"PYTHONPATH": SITE_PACKAGES, **(env or {})}
    done = subprocess.run(command, env=ansible_env(env, home), capture_output=True, text=True, check=False, timeout=TIMEOUT, cwd=home)
    return _task_result(_report(done.stdout, done.stderr, done.returncode))


def adhoc_many(name: str, argsets: list, env: dict | None = None) -> list:
    """Several `adhoc` runs at once, each its own `ansible` process, all started before any is waited for (for
    tests of concurrent runs); their results in the order of `argsets`."""
    with contextlib.ExitStack() as running:
        procs = [
            running.enter_context(subprocess.Popen(_adhoc_command(name, args), env=ansible_env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            for args in argsets
        ]
        return [_task_result(_report(*proc.communicate(timeout=TIMEOUT), proc.returncode)) for proc in procs]


@contextlib.contextmanager
def _play_file(play: str | list) -> Iterator[str]:
    """A playbook's path or collection name as given; plays given as data, written to a temporary file."""
    if isinstance(play, str):
        yield play
        return
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as file:
        json.dump(play, file)
        file.flush()
        yield file.name


def _ansible_playbook(play: str | list, options: list, env: dict, prefix: tuple = ()) -> subprocess.CompletedProcess:
    with _play_file(play) as path:
        command = [*prefix, str(BIN / "ansible-playbook"), path, *options]
        return subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=TIMEOUT)


def playbook(
    play: str | list,
    extra_vars: dict | None = None,
    *,
    args: tuple = (),
    check: bool = False,
    diff: bool = False,
    env: dict | None = None,
    prefix: tuple = (),
) -> subprocess.CompletedProcess:
    """`ansible-playbook` of a playbook (a path, a collection playbook name such as hostreach.kind.expose, or plays
    given as data) with Ansible's default callback, so stdout reads as a user sees it. `extra_vars` go as one
    JSON `-e`; `args` (say `-e name=value` as a user types it) come last on the command line, so they override.
    `prefix` is a command the run goes through, e.g. `("ip", "netns", "exec", name)` to run it in a network namespace."""
    environment = ansible_env(env)
    environment["ANSIBLE_STDOUT_CALLBACK"] = "default"
    return _ansible_playbook(play, ["-e", json.dumps(extra_vars or {}), *_modes(check, diff), *args], environment, prefix)


def _localhost_play(tasks: list, check: bool, diff: bool, env: dict | None) -> dict:
    """The tasks as one play on localhost, run by `ansible-playbook`; the JSON report."""
    done = _ansible_playbook([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], _modes(check, diff), ansible_env(env))
    return _report(done.stdout, done.stderr, done.returncode)


def playbook_results(tasks: list, *, check: bool = False, diff: bool = False, env: dict | None = None) -> dict:
    """A play of these tasks on localhost, run by `ansible-playbook`; each task's result by the task's name."""
    report = _localhost_play(tasks, check, diff, env)
    return {task["task"]["name"]: task["hosts"]["localhost"] for task in report["plays"][0]["tasks"]}


def playbook_task(name: str, args: dict, *, check: bool = False, diff: bool = False, env: dict | None = None) -> dict:
    """The module hostreach.kind.<name> as the one task of a play run by `ansible-playbook` (ignore_errors, so a
    failure is a result); the task's result (with `_stats`)."""
    return _task_result(_localhost_play([{"name": name, f"hostreach.kind.{name}": args, "ignore_errors": True}], check, diff, env))
