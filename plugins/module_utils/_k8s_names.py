# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes object names, checked before any request. Pure: no I/O.

A namespace or Service name goes into a request path (``/api/v1/namespaces/<ns>/services``). An empty
name drops that path segment and turns a namespaced LIST into a cluster-wide one; ``..`` walks up a
segment into another namespace. So every name must be what the apiserver could have stored: a DNS-1123
label (lower-case letters, digits and ``-``, starting and ending with a letter or digit, at most 63
characters). Every Service and namespace name Kubernetes accepts is one.

A kind cluster name goes further: into the kube context (``kind-<name>``), docker-connector.conf's marker comment
(``# hostreach.kind cluster <name>``), the resolver file's marker and the results. A newline in it would write a line
of its own into the config. So a cluster name must be one kind itself accepts (see KIND_CLUSTER_NAME), whether the
user gave it or a container's ``io.x-k8s.kind.cluster`` label said it.
"""

from __future__ import annotations

import re

from ansible_collections.hostreach.kind.plugins.module_utils._errors import InputError

DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS1123_LABEL_MAX = 63
# kind's own rule (sigs.k8s.io/kind v0.32.0, pkg/internal/apis/config/validate.go):
#     var validNameRE = regexp.MustCompile(`^[a-z0-9.-]+$`)
# Go's `$` (RE2, no multi-line flag) matches only at the end of the text, so fullmatch here: Python's `$` would also
# match before a final newline and let "kind\n" through.
KIND_CLUSTER_NAME = re.compile(r"[a-z0-9.-]+")
# pkg/cluster/internal/create/create.go: clusterNameMax = 50 ("Typical host name max limit is 64 characters ... We
# append -control-plane (14 characters) to the cluster name on the control plane container"). kind warns above it; the
# node container's hostname is then longer than Linux allows (sethostname, 64), so no such cluster runs: refused here.
KIND_CLUSTER_NAME_MAX = 50
SHOWN_MAX = 80  # characters of a refused name quoted in a message


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


def cluster_name_problem(value: object) -> str | None:
    """Why ``value`` is not a name kind accepts for a cluster, or None when it is one. The name is quoted with repr
    (cut at SHOWN_MAX characters), so a newline or another control character shows."""
    if not isinstance(value, str):
        return f"{value!r} is not a kind cluster name: it must be a string, not {type(value).__name__}"
    shown = repr(value) if len(value) <= SHOWN_MAX else f"{value[:SHOWN_MAX]!r}... ({len(value)} characters)"
    if value == "":
        return "'' is not a kind cluster name: it is empty (kind's default cluster is named kind)"
    bad = next((i for i, char in enumerate(value) if not KIND_CLUSTER_NAME.fullmatch(char)), None)
    if bad is not None:
        return (
            f"{shown} is not a kind cluster name: its character {value[bad]!r} at position {bad} is none of kind's "
            f"lower-case letters, digits, '.' and '-' (^{KIND_CLUSTER_NAME.pattern}$); `kind get clusters` lists the names"
        )
    if len(value) > KIND_CLUSTER_NAME_MAX:
        return (
            f"{shown} is not a kind cluster name: it is {len(value)} characters long, more than {KIND_CLUSTER_NAME_MAX} "
            "(its node's hostname <name>-control-plane would be longer than Linux allows)"
        )
    return None


def require_cluster_name(value: object, option: str = "cluster") -> None:
    """InputError naming ``option`` and the value when ``value`` is not a kind cluster name; called before any use."""
    problem = cluster_name_problem(value)
    if problem:
        raise InputError(f"{option} {problem}; nothing was asked of the cluster or changed")


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
