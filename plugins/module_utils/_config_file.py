# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The configuration file on disk: which file a path means, whether it can be written as it is, a lock for
read-plan-write, and the atomic write itself through ``AnsibleModule.atomic_move``.

Text is decoded as UTF-8 with surrogateescape, so any bytes survive a read/write round trip. Writes go to
the file a path's symbolic links lead to (``os.path.realpath``, as ``ansible.builtin.lineinfile`` does),
so a linked config stays a link.

Run as root, a path is written only through links of root or of the owner of the path's own folder, and, when that
folder is a user's (Homebrew's etc/), only when the file it leads to (a new file: the folder it goes in) is that user's:
a link there cannot send root's write, or a diff of what it read, to anybody else's file. A new file root makes gets
the folder's owner.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import pwd
import tempfile
import typing as t

from ansible_collections.hostreach.kind.plugins.module_utils._errors import ConfigFileError

NEW_FILE_MODE = 0o644
ENCODING = "utf-8"
ERRORS = "surrogateescape"


def for_display(text: str) -> str:
    """`text` for results and diffs, which must be valid UTF-8: bytes that are not show as U+FFFD."""
    return text.encode(ENCODING, ERRORS).decode(ENCODING, "replace")


def write_target(path: str) -> str:
    """The file that holds `path`'s text: `path` itself, or the file its symbolic links lead to."""
    if not path or path.endswith(os.sep):
        raise ConfigFileError(f"path {path!r} names no file: give the configuration file's full path, like /opt/homebrew/etc/docker-connector.conf")
    target = os.path.realpath(path)
    if os.path.islink(path) and not os.path.exists(target):
        raise ConfigFileError(f"{path} is a symbolic link to {target}, which does not exist; create {target} or point the link at an existing file")
    if os.path.isdir(target):
        raise ConfigFileError(f"path {path} is a directory, not a file: give the configuration file's full path")
    problem = foreign_target(path, target) if os.geteuid() == 0 else None
    if problem:
        raise ConfigFileError(
            f"refusing to write {path} as root: {problem}. In a user's folder, root writes only that user's files, so "
            "that a link there cannot send root's write to another user's file. Run the task as the folder's owner "
            "(the roles do: become_user the Homebrew owner), or remove the link; nothing was read or written",
            path=path,
        )
    return target


def _who(uid: int) -> str:
    try:
        return f"uid {uid} ({pwd.getpwuid(uid).pw_name})"
    except KeyError:
        return f"uid {uid}"


def _links_on_the_way(path: str) -> list:
    """The symbolic links `path`'s name leads through: its folder when that is a link, then each link of the chain."""
    directory, current = os.path.dirname(path), path
    links = [directory] if os.path.islink(directory) else []
    while os.path.islink(current) and current not in links:
        links.append(current)
        current = os.path.join(os.path.dirname(current), os.readlink(current))
    return links


def foreign_target(path: str, target: str) -> str | None:
    """Why root must not write `target` for `path`, or None. The rule: every link on the way is root's or the owner's of
    `path`'s folder, and when that folder is a user's, the file (a new file: its folder) is that user's too. Only
    metadata is read."""
    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    held = target if os.path.exists(target) else os.path.dirname(target)
    if not os.path.lexists(directory) or not os.path.exists(held):
        return None  # nothing can be written there; write_problem says why
    owner = os.lstat(directory).st_uid
    for link in _links_on_the_way(path):
        uid = os.lstat(link).st_uid
        if uid not in (0, owner):
            return f"the symbolic link {link} -> {os.readlink(link)} belongs to {_who(uid)}, not to {_who(owner)}, who owns {directory}"
    uid = os.stat(held).st_uid
    if owner == 0 or uid == owner:
        return None  # root's folder: root chose what is in it
    if held != target:
        return f"the new file would go in {held}, which belongs to {_who(uid)}, while {directory} belongs to {_who(owner)}"
    lead = f"{path} is a symbolic link to {target}, which" if os.path.islink(path) else f"{target}"
    return f"{lead} belongs to {_who(uid)}, while {directory} belongs to {_who(owner)}"


def write_problem(target: str) -> str | None:
    """Why this user cannot replace `target` keeping its owner (or create it), or None when it can. Checked in
    check mode too, so --check fails where a real run would."""
    directory = os.path.dirname(target)
    uid = os.geteuid()
    if not os.path.isdir(directory):
        return f"its directory {directory} does not exist"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"its directory {directory} is not writable by uid {uid}; run the task as the directory's owner or as root (become: true)"
    try:
        current = os.stat(target)
    except FileNotFoundError:
        return None
    if uid != 0 and current.st_uid != uid:
        return (
            f"it is owned by uid {current.st_uid} and this task runs as uid {uid}: replacing it would make it yours. "
            "Run the task as its owner or as root (become: true), or give it to this user (chown)"
        )
    if uid != 0 and current.st_gid not in (os.getegid(), *os.getgroups()):
        return f"its group {current.st_gid} is not a group of uid {uid}, so replacing it would change its group; run the task as root (become: true)"
    return None


@contextlib.contextmanager
def locked(target: str) -> t.Iterator[None]:
    """An exclusive lock on the file's directory for a read-plan-write; concurrent holders wait. The directory is
    opened read-only and no lock file is made, so a lock taken by root never blocks a user who may write the file.
    A directory that does not exist holds no file to read and takes none (write_problem says so): nothing is locked."""
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        yield
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError as exc:
        raise ConfigFileError(f"cannot lock {directory} for the update of {target}: {exc.strerror}; give uid {os.geteuid()} read access to it") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def read_text(target: str) -> str | None:
    """The file's text, or None when it does not exist."""
    try:
        with open(target, "rb") as handle:
            return handle.read().decode(ENCODING, ERRORS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigFileError(f"cannot read {target}: {exc.strerror}") from None


def _temp_pattern(target: str) -> str:
    directory, name = os.path.split(target)
    return os.path.join(directory, f".{glob.escape(name)}.*.tmp")


def remove_stale_temp_files(target: str) -> list:
    """Remove the temp files a killed run of this module left next to `target`. Call it under the lock: then no
    other run is writing one. Only this module's pattern (`.<name>.<random>.tmp`) is touched."""
    removed = []
    for stale in glob.glob(_temp_pattern(target)):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(stale)
            removed.append(stale)
    return removed


def _give_to_folder_owner(target: str) -> None:
    """Root's new file belongs to its folder's owner and group (as the folder's owner would have made it), so that the
    owner's own later runs can replace it. The link itself, should one have taken its place, is what changes owner."""
    if os.geteuid() == 0:
        folder = os.stat(os.path.dirname(target))
        os.chown(target, folder.st_uid, folder.st_gid, follow_symlinks=False)


def write(module: t.Any, target: str, text: str) -> None:
    """Replace `target` with `text` in one rename (`module.atomic_move`: mode, owner and SELinux context kept,
    `unsafe_writes` honoured); a new file gets mode 0644 whatever the umask, and, made by root, its folder's owner.
    An existing file keeps its owner (atomic_move gives the new inode the old one's owner and group)."""
    directory, name = os.path.split(target)
    existed = os.path.exists(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode(ENCODING, ERRORS))
            handle.flush()
            os.fsync(handle.fileno())
        module.atomic_move(tmp, target, unsafe_writes=module.params.get("unsafe_writes", False))
        if not existed:
            os.chmod(target, NEW_FILE_MODE)
            _give_to_folder_owner(target)
    except Exception as exc:  # atomic_move raises plain Exception for a failed rename
        raise ConfigFileError(f"cannot write {target}: {exc}; the file was left as it was") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
