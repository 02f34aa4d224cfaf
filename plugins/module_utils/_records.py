# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a module put in for a kind cluster where the thing itself does not say whose it is, kept so that state=absent
finds it once the cluster is gone (`kind delete cluster` removes the cluster's context, so nothing can be read from it).

A host route says only `proto 119` (kind_cluster_routes' routes, of whichever cluster), a route inside the Docker VM
nothing at all, a link of systemd-resolved only a server and a domain. docker-connector's route lines and macOS's
resolver files carry the cluster's name themselves (`# hostreach.kind cluster <name>`) and need no record.

One JSON file per concern and cluster, `<dir>/<concern>/<cluster>.json`, where `<dir>` is `$XDG_STATE_HOME/hostreach-kind`
(`~/.local/state/hostreach-kind` when unset), of the user the module runs as (the roles run it as the user: expose and
teardown find the same files). Written atomically (a temporary file renamed over it) when state=present has planned,
before the change; removed by state=absent. A record claims nothing by itself: absent removes only what is in place
and recorded, and leaves what another cluster's record names too (a cluster made since, that took the route over).
"""

from __future__ import annotations

import contextlib
import json
import os
import typing as t

from ansible_collections.hostreach.kind.plugins.module_utils import _config_file
from ansible_collections.hostreach.kind.plugins.module_utils._errors import ConfigFileError

CONCERNS = ("routes", "dns")
DIRECTORY_MODE = 0o700


def directory(concern: str, environ: t.Mapping | None = None, home: str | None = None) -> str:
    """The folder of a concern's records: $XDG_STATE_HOME/hostreach-kind/<concern> (XDG Base Directory), else
    ~/.local/state/hostreach-kind/<concern>. A relative $XDG_STATE_HOME is ignored, as the specification says."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_STATE_HOME") or ""
    if not os.path.isabs(base):
        base = os.path.join(home or os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "hostreach-kind", concern)


def path(concern: str, cluster: str) -> str:
    """The record of one cluster (its name is a kind cluster name, checked before: no separator, no dot first)."""
    return os.path.join(directory(concern), f"{cluster}.json")


def parse(text: str | None) -> dict | None:
    """A record's mapping; None for no file, and for a file that does not hold a JSON object (nothing can be taken
    from it: it is replaced by the next present, removed by the next absent)."""
    if text is None:
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def render(record: dict) -> str:
    return json.dumps(record, indent=1, sort_keys=True) + "\n"


def read(concern: str, cluster: str) -> dict | None:
    return parse(_config_file.read_text(path(concern, cluster)))


def others(concern: str, cluster: str) -> dict:
    """The records of every other cluster of the concern: {cluster: record}; unreadable ones are left out."""
    folder = directory(concern)
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return {}
    found = {}
    for name in names:
        other = name[: -len(".json")]
        if not name.endswith(".json") or other == cluster:
            continue
        with contextlib.suppress(ConfigFileError):
            record = parse(_config_file.read_text(os.path.join(folder, name)))
            if record is not None:
                found[other] = record
    return found


def write(module: t.Any, concern: str, cluster: str, record: dict) -> bool:
    """Replace the cluster's record with `record` when it differs (atomically); whether it was written."""
    target = path(concern, cluster)
    text = render(record)
    if _config_file.read_text(target) == text:
        return False
    try:
        os.makedirs(os.path.dirname(target), mode=DIRECTORY_MODE, exist_ok=True)
    except OSError as exc:
        raise ConfigFileError(f"cannot make {os.path.dirname(target)} for the record of cluster {cluster}: {exc.strerror}; nothing was changed") from None
    _config_file.write(module, target, text)
    return True


def remove(concern: str, cluster: str) -> bool:
    """Remove the cluster's record; whether there was one."""
    try:
        os.unlink(path(concern, cluster))
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise ConfigFileError(f"cannot remove the record {path(concern, cluster)}: {exc.strerror}") from None
    return True


def keep(module: t.Any, concern: str, cluster: str, record: dict | None) -> None:
    """Write the cluster's record (None: remove it), and only warn when that fails: the record is bookkeeping for a later
    teardown, and a home that cannot hold it (read-only, not this user's) must not stop the change itself."""
    try:
        if record is None:
            remove(concern, cluster)
        else:
            write(module, concern, cluster, record)
    except ConfigFileError as exc:
        module.warn(f"{exc.msg}; once cluster {cluster} is gone, state=absent will not find what this run put in for it")
