# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes object names, checked before any request. Pure: no I/O.

A namespace or Service name goes into a request path (``/api/v1/namespaces/<ns>/services``). An empty
name drops that path segment and turns a namespaced LIST into a cluster-wide one; ``..`` walks up a
segment into another namespace. So every name must be what the apiserver could have stored: a DNS-1123
label (lower-case letters, digits and ``-``, starting and ending with a letter or digit, at most 63
characters). Every Service and namespace name Kubernetes accepts is one.
"""

from __future__ import annotations

import re

DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS1123_LABEL_MAX = 63


def label_problem(value: object) -> str | None:
    """Why ``value`` is not a DNS-1123 label, or None when it is one."""
    if not isinstance(value, str):
        return f"must be a string, got {type(value).__name__} {value!r}"
    if value == "":
        return "is empty (an empty entry never means every namespace)"
    if len(value) > DNS1123_LABEL_MAX:
        return f"is {len(value)} characters long, more than {DNS1123_LABEL_MAX}"
    if not DNS1123_LABEL.fullmatch(value):
        return f"{value!r} is not a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit)"
    return None


def name_problems(services: list, namespaces: list) -> list:
    """One message per invalid name in kind_nodeport's ``services`` and ``namespaces`` options."""
    problems = []
    for index, namespace in enumerate(namespaces):
        problem = label_problem(namespace)
        if problem:
            problems.append(f"namespaces[{index}] {problem}")
    for index, entry in enumerate(services):
        for field in ("namespace", "name"):
            problem = label_problem(entry.get(field))
            if problem:
                problems.append(f"services[{index}].{field} {problem}")
    return problems
