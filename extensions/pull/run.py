# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""hostreach.kind's pull run (issue 21, item 3): one `ansible-pull` of the team's repository, as the timer that
roles/pull installs starts it (a systemd user timer, a launchd StartInterval), every 30 minutes by default.

    python -m ansible_collections.hostreach.kind.extensions.pull.run --url URL --checkout DIR --state-dir DIR
        [--branch BRANCH] [--playbook local.yml]

- Under a lock (<state-dir>/lock, flock): a run that finds another one going ends at once, saying so; two runs never
  overlap, whoever started them.
- With `--only-if-changed` after a run that passed: the playbook runs only when the repository changed. After a failed
  run (or before the first) it runs whatever the repository did, so a failure that was not the repository's heals.
- ansible-pull's whole output goes to <state-dir>/pull.log (moved to pull.log.1 once it passes 1 MiB); the
  outcome to <state-dir>/status.json (written atomically), which the doctor reads: applied / unchanged / failed, the
  checkout's commit after the run, why it failed, and the last commit that was applied. A bad setting changes nothing
  on the machine: expose checks every setting before its first step. A run past an hour is ended with what it started.
- The playbook runs with hostreach_kind_pull_run=true: expose then leaves the pull timer as it is (on macOS, reloading
  the LaunchAgent from inside its own job would end the run); the timer's own settings change with expose -e.
Exit status: ansible-pull's (0 when the lock was held).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ansible_collections.hostreach.kind.plugins.filter.user_service import service_status
from ansible_collections.hostreach.kind.plugins.module_utils._pull_source import next_status, only_if_changed, source_problems
from ansible_collections.hostreach.kind.plugins.module_utils._run_output import OUTPUT_ENV
from ansible_collections.hostreach.kind.plugins.module_utils._watch_playbooks import write_atomically

LOG_LIMIT = 1 << 20  # bytes of pull.log before it becomes pull.log.1
RUN_TIMEOUT = 3600  # seconds: a pull that takes longer is ended and counts as failed


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="hostreach-kind-pull", description="One ansible-pull of the team's repository, under a lock.")
    parser.add_argument("--url", required=True, help="the team repository")
    parser.add_argument("--checkout", required=True, help="the folder ansible-pull checks it out into")
    parser.add_argument("--state-dir", required=True, help="the lock, status.json and pull.log")
    parser.add_argument("--branch", default="", help="the branch (default: the repository's own)")
    parser.add_argument("--playbook", default="local.yml", help="the playbook in the repository")
    args = parser.parse_args(argv)
    problems = source_problems(args.url, args.checkout, args.branch, args.playbook)
    if problems:
        parser.error("; ".join(problems))
    return args


def pull_argv(args: argparse.Namespace, skip_unchanged: bool) -> list[str]:
    """ansible-pull beside this Python, on the repository; the playbook's runs are marked as the pull's own
    (hostreach_kind_pull_run: expose leaves the pull timer alone on them - on macOS reloading the job would end it)."""
    argv = [str(Path(sys.executable).parent / "ansible-pull"), "--url", args.url, "--directory", args.checkout, "--extra-vars", "hostreach_kind_pull_run=true"]
    argv += ["--checkout", args.branch] if args.branch else []
    argv += ["--only-if-changed"] if skip_unchanged else []
    return [*argv, args.playbook]


def read_status(state: Path) -> dict:
    """The last run's status.json, as the doctor reads it ({} when there is none)."""
    try:
        return service_status((state / "status.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return {}


def head_commit(checkout: str) -> str:
    done = subprocess.run(["git", "-C", checkout, "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else ""


def append_log(state: Path, argv: list[str], output: str, returncode: int, started: float) -> None:
    """The run's whole output after the ones before; a log past LOG_LIMIT becomes pull.log.1 first."""
    log = state / "pull.log"
    if log.exists() and log.stat().st_size > LOG_LIMIT:
        log.replace(state / "pull.log.1")
    when = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(started))
    with log.open("a", encoding="utf-8") as out:
        out.write(f"=== {when} {' '.join(argv)}\n{output}=== exit {returncode} after {time.time() - started:.1f} s\n")


def run_pull(argv: list[str]) -> tuple[int, str]:
    """ansible-pull's exit status and output (stdout and stderr, undecodable bytes replaced). It runs in a process
    group of its own: a run past RUN_TIMEOUT is ended with everything it started (its ansible-playbook, git)."""
    try:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, **OUTPUT_ENV})
    except OSError as exc:
        return 127, f"ERROR! {argv[0]} does not run: {exc}\n"
    with process:
        try:
            output = process.communicate(timeout=RUN_TIMEOUT)[0]
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output = process.communicate()[0]
            return 124, output.decode(errors="replace") + f"\nERROR! the pull took longer than {RUN_TIMEOUT} s and was ended\n"
    return process.returncode, output.decode(errors="replace")


def pull(args: argparse.Namespace, state: Path) -> int:
    before = read_status(state)
    argv = pull_argv(args, only_if_changed(before))
    started = time.time()
    returncode, output = run_pull(argv)
    append_log(state, argv, output, returncode, started)
    after = next_status(before, returncode, output, head_commit(args.checkout), time.time())
    write_atomically(str(state / "status.json"), json.dumps(after, indent=2, sort_keys=True) + "\n")
    print(f"hostreach-kind-pull: {after['result']} {after['commit'][:12]} {after['detail']}".rstrip(), flush=True)
    return returncode


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    state = Path(args.state_dir)
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    with (state / "lock").open("a", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"hostreach-kind-pull: another run holds {state / 'lock'}; this one ends", flush=True)
            return 0
        return pull(args, state)


if __name__ == "__main__":
    sys.exit(main())
