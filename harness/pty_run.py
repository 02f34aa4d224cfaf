"""Runs a command on a real pseudo-terminal and answers its prompts, as a person at a terminal would.

`ansible-playbook --ask-become-pass` reads the password with getpass, from the controlling terminal (/dev/tty)
with echo off; a pipe on stdin is not the same path. `run_in_pty` makes a pty, starts the command in a new
session with the pty's slave as controlling terminal and stdin/stdout/stderr, answers each prompt it sees and
returns the exit status and everything the command wrote (stdout and stderr are one stream on a terminal).
Standard library only.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

BECOME_PROMPT = r"BECOME password: $"  # ansible-core's prompt (AGNOSTIC_BECOME_PROMPT, the default)


@dataclass
class Prompt:
    """A prompt (regular expression matched at the end of the output so far) and the line that answers it."""

    pattern: str
    answer: str
    times: int = 1  # how often it may be answered; one more sighting ends the command (it would wait forever)
    answered: int = field(default=0, init=False)


@dataclass
class PtyResult:
    argv: list[str]
    returncode: int | None  # None: killed at the timeout or for a prompt seen too often
    output: str  # as the terminal showed it, with \r\n made \n
    answered: dict[str, int]
    error: str = ""  # why the command was ended, if it was

    def __str__(self) -> str:
        head = f"$ {' '.join(self.argv)}\n(exit {self.returncode}{', ' + self.error if self.error else ''})\n"
        return head + self.output


def _set_controlling_tty() -> None:
    # Runs in the child after setsid (start_new_session): fd 0 is the slave, make it the session's terminal.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def run_in_pty(
    argv: Sequence[str],
    prompts: Sequence[Prompt] = (),
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout: float = 600.0,
    columns: int = 200,
) -> PtyResult:
    """Runs argv on a new pty, answers `prompts`, waits for it to end (killing its process group at `timeout`)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    try:
        process = subprocess.Popen(
            list(argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_set_controlling_tty,  # needed to give the child a controlling terminal
            close_fds=True,
        )
    except BaseException:
        os.close(master)
        os.close(slave)
        raise
    os.close(slave)  # the child has it; EIO on the master once every holder of the slave has closed it
    chunks: list[bytes] = []
    searched_from = 0  # output before this offset was answered already
    error = ""
    deadline = time.monotonic() + timeout
    compiled = [(prompt, re.compile(prompt.pattern.encode())) for prompt in prompts]
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                error = f"timed out after {timeout:.0f}s"
                break
            ready = select.select([master], [], [], min(remaining, 1.0))[0]
            if not ready:
                if process.poll() is not None and not _readable(master):
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the slave side is closed everywhere
                break
            if not data:
                break
            chunks.append(data)
            output = b"".join(chunks)
            for prompt, regex in compiled:
                if regex.search(output, searched_from):
                    if prompt.answered >= prompt.times:
                        error = f"prompt {prompt.pattern!r} came again after {prompt.answered} answer(s)"
                        break
                    os.write(master, prompt.answer.encode() + b"\n")
                    prompt.answered += 1
                    searched_from = len(output)
            if error:
                break
    finally:
        if error:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        returncode = process.wait()
        # Anything written between the last read and the exit.
        while _readable(master):
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        os.close(master)
    text = b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")
    return PtyResult(
        argv=list(argv),
        returncode=None if error else returncode,
        output=text,
        answered={prompt.pattern: prompt.answered for prompt in prompts},
        error=error,
    )


def _readable(fd: int) -> bool:
    ready = select.select([fd], [], [], 0)[0]
    return bool(ready)


def run_ansible_with_become_pass(
    argv: Sequence[str],
    become_password: str,
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout: float = 600.0,
) -> PtyResult:
    """`ansible` or `ansible-playbook` with --ask-become-pass (added if missing), the password typed at its prompt."""
    argv = list(argv)
    if "--ask-become-pass" not in argv and "-K" not in argv:
        argv.append("--ask-become-pass")
    return run_in_pty(argv, [Prompt(BECOME_PROMPT, become_password)], env=env, cwd=cwd, timeout=timeout)
