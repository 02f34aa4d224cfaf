"""resource_path: the URL path of each request the modules make, with what a cluster or a user gave quoted whole."""

from __future__ import annotations

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils._kube import resource_path


@pytest.mark.parametrize(
    ("args", "path"),
    [
        (("services", None), "/api/v1/services"),
        (("services", "web"), "/api/v1/namespaces/web/services"),
        (("services", "web", "api"), "/api/v1/namespaces/web/services/api"),
        (("configmaps", "kube-system", "kubeadm-config"), "/api/v1/namespaces/kube-system/configmaps/kubeadm-config"),
        (("nodes", None), "/api/v1/nodes"),
        (("namespaces", None, "web"), "/api/v1/namespaces/web"),
        (("endpointslices", "web"), "/apis/discovery.k8s.io/v1/namespaces/web/endpointslices"),
        (("endpointslices", None), "/apis/discovery.k8s.io/v1/endpointslices"),
        (("servicecidrs", None), "/apis/networking.k8s.io/v1/servicecidrs"),
    ],
)
def test_each_resource_is_served_where_the_api_serves_it(args: tuple, path: str) -> None:
    assert resource_path(*args) == path


def test_a_name_never_adds_a_path_segment_or_a_query() -> None:
    path = resource_path("services", "a/../../nodes", "web?dryRun=All#x")
    assert path == "/api/v1/namespaces/a%2F..%2F..%2Fnodes/services/web%3FdryRun%3DAll%23x"


def test_an_unknown_resource_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        resource_path("secrets", "web")
