# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes connection options shared by the modules that talk to a cluster's API. Private to the collection;
the options are declared once, beside this text, in module_utils/_kube.py KUBE_COMMON_ARGS; a unit test keeps the two equal."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  cluster:
    description:
      - Name of the kind cluster, as given to C(kind create cluster --name).
      - Selects the kubeconfig context C(kind-<cluster>), the one kind writes, unless O(context) is set.
      - Must be a name kind accepts, checked as kind checks it (C(^[a-z0-9.-]+$), kind's C(validNameRE) in
        C(pkg/internal/apis/config/validate.go)), and at most 50 characters (kind's C(clusterNameMax)); any other value
        fails before anything is read or written.
    type: str
    default: kind
  context:
    description:
      - Kubeconfig context to use. Overrides the context derived from O(cluster).
      - When the kubeconfig has no such context, the error lists the contexts it has.
    type: str
  kubeconfig:
    description:
      - Path of the kubeconfig file, or several separated by V(:) whose files are merged (as in E(KUBECONFIG)).
      - When not set, the first of these that is set is used (the order of C(kubernetes.core) and C(kubectl))
        (1) the E(K8S_AUTH_KUBECONFIG) environment variable,
        (2) E(KUBECONFIG), a list of paths separated by V(:) whose files are merged,
        (3) C(~/.kube/config).
      - When none of those files exists, the task fails and names the paths it looked at.
      - Paths are read on the host the module runs on.
    type: path
requirements:
  - kubernetes (the Python SDK) on the host the module runs on
"""
