"""The one way tests run the collection's modules and playbooks.

- `in_process(module, args)`: the module's main() in this process, with Ansible's own argument patching (nothing
  mocked); for tests that count the module's requests, inject faults around a real client, or need speed.
- `adhoc(name, args)`: `ansible localhost -m hostreach.kind.<name>`, as a user runs a module: the AnsiballZ
  packaging, the interpreter, the JSON result of the task. `as_user` runs it as another (uid, gid).
- `playbook(path, extra_vars)`: `ansible-playbook`, for the roles and the collection's playbooks.
All of them use this venv's Ansible and the collection as .build/collections links it (make link).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import pytest
from ansible.module_utils.testing import patch_module_args

REPO = Path(__file__).resolve().parents[1]
COLLECTIONS = REPO / ".build" / "collections"
BIN = Path(sys.executable).parent


def ansible_env(extra: dict | None = None, home: str | None = None) -> dict:
    """The environment of an `ansible` or `ansible-playbook` run: this collection, JSON results, no colour."""
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


def _task_result(stdout: str, stderr: str, returncode: int) -> dict:
    try:
        report = json.loads(stdout)
    except ValueError:
        pytest.fail(f"ansible printed no JSON (rc={returncode}):\n{stdout}\n{stderr}")
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
    python: str = sys.executable,
    as_user: tuple | None = None,
    home: str | None = None,
) -> dict:
    """`ansible localhost -m hostreach.kind.<name> -a <args>`; the task's result (with `_stats`)."""
    command = [str(BIN / "ansible"), "localhost", "-c", "local", "-m", f"hostreach.kind.{name}", "-a", json.dumps(args)]
    command += ["-e", f"ansible_python_interpreter={python}"] + ["--check"] * check + ["--diff"] * diff
    if as_user is not None:
        command = ["setpriv", f"--reuid={as_user[0]}", f"--regid={as_user[1]}", "--clear-groups", *command]
    done = subprocess.run(command, env=ansible_env(env, home), capture_output=True, text=True, check=False, timeout=300, cwd=home or None)
    return _task_result(done.stdout, done.stderr, done.returncode)


def adhoc_many(name: str, argsets: list, env: dict | None = None) -> list:
    """Several `adhoc` runs at once, each its own `ansible` process (for tests of concurrent runs)."""
    procs = []
    for args in argsets:
        command = [str(BIN / "ansible"), "localhost", "-c", "local", "-m", f"hostreach.kind.{name}", "-a", json.dumps(args)]
        procs.append(subprocess.Popen(command, env=ansible_env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        results.append(_task_result(out, err, proc.returncode))
    return results


def playbook(
    play: str | list, extra_vars: dict | None = None, *, check: bool = False, diff: bool = False, env: dict | None = None
) -> subprocess.CompletedProcess:
    """`ansible-playbook` of a playbook (a path, a collection playbook name, or plays given as data), with the
    default callback so the output reads as a user sees it; extra vars as JSON."""
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as file:
        if not isinstance(play, str):
            json.dump(play, file)
            file.flush()
            play = file.name
        command = [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", play, "-e", json.dumps(extra_vars or {})]
        command += ["--check"] * check + ["--diff"] * diff
        environment = ansible_env(env)
        environment.update(ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_CALLBACK_RESULT_FORMAT="yaml")
        return subprocess.run(command, env=environment, capture_output=True, text=True, check=False, timeout=900)


def playbook_task(args_by_module: dict, *, check: bool = False, diff: bool = False, env: dict | None = None) -> dict:
    """One task of a module in a play run by `ansible-playbook` (ignore_errors, so a failure is a result); the
    task's result as JSON."""
    ((name, args),) = args_by_module.items()
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [{"name": name, f"hostreach.kind.{name}": args, "ignore_errors": True}]}]
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as file:
        json.dump(play, file)
        file.flush()
        command = [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", file.name] + ["--check"] * check + ["--diff"] * diff
        done = subprocess.run(command, env=ansible_env(env), capture_output=True, text=True, check=False, timeout=300)
    return _task_result(done.stdout, done.stderr, done.returncode)
