# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read, lock and atomically replace a small text file, keeping its mode and owner.

Text is decoded as UTF-8 with surrogateescape, so any bytes survive a read/write round trip.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import typing as t

NEW_FILE_MODE = 0o644
ENCODING = "utf-8"
ERRORS = "surrogateescape"


def for_display(text: str) -> str:
    """`text` for results and diffs, which must be valid UTF-8: bytes that are not show as U+FFFD."""
    return text.encode(ENCODING, ERRORS).decode(ENCODING, "replace")


class DanglingLink(OSError):
    """The path is a symbolic link whose target does not exist."""


def write_target(path: str) -> str:
    """The file that holds `path`'s text: `path` itself, or the file its symbolic links lead to.
    Writing there keeps the links links (a dotfile manager's or Homebrew's link into another folder)."""
    target = os.path.realpath(path)
    if os.path.islink(path) and not os.path.exists(target):
        raise DanglingLink(f"{path} is a symbolic link to {target}, which does not exist; create {target} or point the link at an existing file")
    return target


def lock_path(path: str) -> str:
    """The sidecar lock file: `.<name>.lock` next to the file (the file itself is replaced, so cannot hold the lock)."""
    directory, name = os.path.split(os.path.abspath(path))
    return os.path.join(directory, f".{name}.lock")


@contextlib.contextmanager
def locked(path: str) -> t.Iterator[None]:
    """Hold an exclusive fcntl lock for a read-plan-write of `path`; concurrent holders wait."""
    fd = os.open(lock_path(path), os.O_RDWR | os.O_CREAT, NEW_FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def read_text(path: str) -> t.Optional[str]:
    """The file's text, or None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read().decode(ENCODING, ERRORS)
    except FileNotFoundError:
        return None


def atomic_write(path: str, text: str) -> None:
    """Replace `path` with `text` in one rename; an existing file keeps mode and owner, a new one gets 0644."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        current = os.stat(path)
    except FileNotFoundError:
        current = None
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode(ENCODING, ERRORS))
            handle.flush()
            os.fsync(handle.fileno())
            if current is None:
                os.fchmod(handle.fileno(), NEW_FILE_MODE)
            else:
                os.fchmod(handle.fileno(), current.st_mode & 0o7777)
                if (current.st_uid, current.st_gid) != (os.geteuid(), os.getegid()):
                    os.fchown(handle.fileno(), current.st_uid, current.st_gid)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def check_writable_dir(path: str) -> t.Optional[str]:
    """Why the file's directory cannot take a new file, or None when it can."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        return f"directory {directory} does not exist"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"directory {directory} is not writable by uid {os.geteuid()}"
    return None
