# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which kubeconfig files and which context a module uses, and whether those files are kubeconfigs at all.

Resolution order: the ``kubeconfig`` option, then ``K8S_AUTH_KUBECONFIG`` (as kubernetes.core), then
``KUBECONFIG`` (a path list, as kubectl), then ``~/.kube/config``; the ``context`` option, else
``kind-<cluster>`` (the context ``kind create cluster`` writes). The files are read here, before the SDK
sees them, so a file that is not a kubeconfig gets a message naming it instead of a Python TypeError, and a
file without ``current-context`` works when the context is given (as kubectl accepts it).
"""

from __future__ import annotations

import os
import traceback
import typing as t

from ansible_collections.hostreach.kind.plugins.module_utils._errors import KubeError, KubeNoContext, require_library

try:
    import yaml  # a dependency of the kubernetes SDK, so present wherever the SDK is
except ImportError:
    YAML_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    YAML_IMPORT_ERROR = None


def kubeconfig_candidates(kubeconfig: str | None, environ: t.Mapping | None = None, home: str | None = None) -> tuple:
    """(paths, where they came from) following the resolution order."""
    environ = os.environ if environ is None else environ
    if kubeconfig:
        return [os.path.expanduser(p) for p in kubeconfig.split(os.pathsep) if p], "the kubeconfig option"
    for variable in ("K8S_AUTH_KUBECONFIG", "KUBECONFIG"):
        if environ.get(variable):
            return [os.path.expanduser(p) for p in environ[variable].split(os.pathsep) if p], "$" + variable
    home = home or os.path.expanduser("~")
    return [os.path.join(home, ".kube", "config")], "the default location"


def find_kubeconfig(kubeconfig: str | None, environ: t.Mapping | None = None, home: str | None = None) -> list:
    """The kubeconfig files to load, in order (the SDK's merger takes them joined by os.pathsep)."""
    paths, source = kubeconfig_candidates(kubeconfig, environ, home)
    existing = [p for p in paths if os.path.isfile(p)]
    if not existing:
        raise KubeNoContext(
            f"no kubeconfig found: looked at {', '.join(paths)} ({source}). Create the cluster (kind create cluster --name <cluster>), "
            "or point the kubeconfig option or $KUBECONFIG at an existing file."
        )
    return existing


def context_name(context: str | None, cluster: str) -> str:
    return context or f"kind-{cluster}"


def shape_problem(document: t.Any) -> str | None:
    """What keeps a parsed YAML document from being a kubeconfig, or None."""
    if document is None:
        return None  # an empty file: kubectl treats it as a kubeconfig with nothing in it
    if not isinstance(document, dict):
        return f"it holds a YAML {type(document).__name__}, not a mapping with clusters, contexts and users"
    for key in ("clusters", "contexts", "users"):
        entries = document.get(key)
        if entries is None:
            continue
        if not isinstance(entries, list):
            return f"{key} is a {type(entries).__name__}, not a list"
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                return f"{key}[{index}] has no name"
            if key == "contexts" and not isinstance(entry.get("context"), dict):
                return f"contexts[{index}] ({entry['name']}) has no context mapping"
    return None


def read_contexts(paths: list) -> list:
    """The context names of the files, in file order (the first file naming a context wins, as in kubectl)."""
    require_library("PyYAML", YAML_IMPORT_ERROR)
    names: dict = {}
    for path in paths:
        try:
            with open(path, encoding="utf-8") as handle:
                document = yaml.safe_load(handle)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise KubeError(f"cannot read kubeconfig {path}: {exc}") from None
        problem = shape_problem(document)
        if problem:
            raise KubeError(f"kubeconfig {path} is not a kubeconfig: {problem}. Fix the file or point the kubeconfig option at another one.")
        for entry in (document or {}).get("contexts") or []:
            names.setdefault(entry["name"], path)
    return list(names)


def choose_context(paths: list, context: str | None, cluster: str) -> str:
    """The context to use, which must be in the files."""
    name = context_name(context, cluster)
    names = read_contexts(paths)
    if name not in names:
        hint = "the context option" if context else f"cluster {cluster!r} (context kind-<cluster>); set cluster or context"
        where = ", ".join(paths)
        raise KubeNoContext(f"kubeconfig {where} has no context {name!r} (from {hint}). Its contexts: {', '.join(sorted(names)) or 'none'}")
    return name
