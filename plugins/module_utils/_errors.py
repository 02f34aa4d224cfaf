# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one exception hierarchy, the SDK import guard, and how an exception becomes a failed result.

Helpers raise; a module's ``main()`` catches ``HostreachError`` and hands ``failure(exc)`` to ``fail_json``,
the only place a module fails. Each error says what was wrong and what to do, and whether anything was
already written (``written``), so a failed task still reports ``changed`` truthfully.
"""

from __future__ import annotations

import traceback
import typing as t

from ansible.module_utils.basic import missing_required_lib


class HostreachError(Exception):
    """A failure to report: ``msg`` for the user, ``written`` names what was already changed, ``details``
    become extra result keys."""

    def __init__(self, msg: str, written: t.Sequence[str] = (), exception: str | None = None, **details: t.Any) -> None:
        super().__init__(msg)
        self.msg = msg
        self.written = list(written)
        self.exception = exception
        self.details = details


class InputError(HostreachError):
    """An option's value cannot be used; nothing was asked of any engine or cluster."""


class MissingLibrary(HostreachError):
    """A Python SDK the module needs is not importable by the target's interpreter."""


class ConfigFileError(HostreachError):
    """The configuration file cannot be read, locked or written as asked."""


class DockerError(HostreachError):
    """The Docker engine could not be chosen, reached or asked."""


class KubeError(HostreachError):
    """The Kubernetes API could not be reached or refused a request. ``summary`` is the message without the
    object's name, so the same failure over many objects is told once (``summarize``)."""

    def __init__(self, msg: str, summary: str | None = None, **kwargs: t.Any) -> None:
        super().__init__(msg, **kwargs)
        self.summary = summary or msg


class KubeNoContext(KubeError):
    """The cluster's context is not in the kubeconfig, or there is no kubeconfig: nothing was connected to. `kind delete
    cluster` removes the context, so for state=absent this is a cluster that is gone (the result says cluster_gone)."""

    def __init__(self, msg: str, **kwargs: t.Any) -> None:
        super().__init__(msg, cluster_gone=True, **kwargs)


class KubeUnreachable(KubeError):
    """No answer from the API server: the connection failed or broke, so a write may or may not have happened."""


class KubeConflict(KubeError):
    """409 Conflict: the object changed since it was read (or already exists)."""


class KubeNotFound(KubeError):
    """404 Not Found."""


class KubeGone(KubeError):
    """410 Gone: the resourceVersion a watch started from is too old; list again."""


class KubeForbidden(KubeError):
    """403 Forbidden: RBAC does not allow the request."""


class RouteError(HostreachError):
    """A route could not be read or changed on the host or in the Docker VM."""


class PlanError(HostreachError):
    """The wanted state cannot be reached for an object; the message says why and what to do."""


# How many names one grouped failure lists before it only counts the rest.
LISTED_NAMES = 10


def summarize(failures: list) -> str:
    """One line per kind of failure over (object name, KubeError) pairs: the failure once, then the names it
    hit (the first LISTED_NAMES, then the count of the rest). 300 Services refused by RBAC make one line."""
    groups: dict = {}
    for name, exc in failures:
        groups.setdefault(getattr(exc, "summary", str(exc)), []).append((name, exc))
    return "; ".join(f"{_told(summary, hits)} [{summarize_names([n for n, _e in hits])}]" for summary, hits in groups.items())


def _told(summary: str, hits: list) -> str:
    """A failure of one object in its own words; of several, the summary once and what the first one's answer
    added to it (the API server's own words)."""
    name, exc = hits[0]
    if len(hits) == 1:
        return str(exc)
    rest = str(exc)[len(summary) :] if str(exc).startswith(summary) else ""
    return f"{summary} (for {name}{rest})" if rest else summary


def summarize_names(names: list) -> str:
    """`3 Services: a/x, a/y, b/z`, naming at most LISTED_NAMES and counting the rest."""
    shown = ", ".join(names[:LISTED_NAMES]) + (f" and {len(names) - LISTED_NAMES} more" if len(names) > LISTED_NAMES else "")
    return f"{len(names)} Service{'s' if len(names) != 1 else ''}: {shown}"


def require_library(name: str, import_error: str | None, reason: str | None = None) -> None:
    """Raise MissingLibrary when ``import_error`` (the traceback of a guarded import) is set. Ansible's
    missing_required_lib names the host and the interpreter, so the user knows which Python needs it."""
    if import_error:
        raise MissingLibrary(missing_required_lib(name, reason=reason), exception=import_error)


def failure(exc: HostreachError) -> dict:
    """The keyword arguments of fail_json for an error."""
    result = dict(exc.details, msg=exc.msg, changed=bool(exc.written))
    if exc.written:
        result["written"] = exc.written
    result["exception"] = exc.exception or "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return result
