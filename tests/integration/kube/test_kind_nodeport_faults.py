"""kind_nodeport under bad input and faults, against the real tier 1 apiserver: namespaces that do not exist,
hand-edited restore annotations, RBAC refusals over hundreds of Services, and writes whose answer is lost."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.ansible_runner import playbook_task

from .kube_helpers import ANNOTATION, Kube

pytestmark = pytest.mark.tier1


def test_a_namespace_that_does_not_exist_is_named_instead_of_silent_success(kube: Kube, tier1_namespace: str, in_process) -> None:
    missing = f"nope-{uuid.uuid4().hex[:6]}"
    by_namespaces = in_process(kube.args(namespaces=[tier1_namespace, missing]))
    assert by_namespaces["failed"]
    assert by_namespaces["msg"] == (
        f"namespace {missing} of the cluster of context {kube.tier1.context} does not exist (kubectl get namespaces lists those that do); nothing was changed"
    )
    by_name = in_process(kube.args(services=[{"name": "web", "namespace": missing}]))
    assert by_name["failed"] and f"namespace {missing} of the cluster" in by_name["msg"]


def test_an_existing_empty_namespace_is_fine_and_costs_one_get(kube: Kube, tier1_namespace: str, in_process) -> None:
    result = in_process(kube.args(namespaces=[tier1_namespace]))
    assert not result.get("failed") and result["changed"] is False and result["services"] == []
    assert ("GET", f"api/v1/namespaces/{tier1_namespace}") in in_process.requests
    kube.create(tier1_namespace, "web", type="NodePort")
    in_process(kube.args(namespaces=[tier1_namespace]))
    assert ("GET", f"api/v1/namespaces/{tier1_namespace}") not in in_process.requests  # a LIST with Services needs no GET


def test_absent_on_a_hand_edited_annotation_names_the_service_and_the_fix(kube: Kube, tier1_namespace: str) -> None:
    kube.create(tier1_namespace, "web")
    assert not playbook_task("kind_nodeport", kube.args(services=[{"name": "web", "namespace": tier1_namespace}])).get("failed")
    kube.core.patch_namespaced_service("web", tier1_namespace, {"metadata": {"annotations": {ANNOTATION: '{"type":5}'}}})
    rv = kube.rv(tier1_namespace, "web")

    result = playbook_task("kind_nodeport", kube.args(namespaces=[tier1_namespace], state="absent"))

    assert result["failed"]
    assert result["msg"].startswith(f"{tier1_namespace}/web: the {ANNOTATION} annotation holds '{{\"type\":5}}', which is not what kind_nodeport writes")
    assert f"kubectl annotate service web -n {tier1_namespace} {ANNOTATION}-" in result["msg"]
    assert len(result["msg"]) < 1000 and "managedFields" not in result["msg"]
    assert kube.rv(tier1_namespace, "web") == rv


def test_rbac_refusal_over_300_services_is_told_once_with_the_names_capped(kube: Kube, tier1_namespace: str) -> None:
    for i in range(300):
        kube.core.create_namespaced_service(
            tier1_namespace, {"metadata": {"name": f"svc-{i:03d}"}, "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}]}}
        )

    result = playbook_task("kind_nodeport", kube.args(context=kube.tier1.viewer_context, namespaces=[tier1_namespace]))

    assert result["failed"]
    msg = result["msg"]
    assert msg.count("may not patch services") == 1
    assert f"[300 Services: {tier1_namespace}/svc-000, " in msg and " and 290 more]" in msg
    assert msg.endswith("(nothing was changed)")
    assert len(msg) < 500 + 12 * len(tier1_namespace), len(msg)  # the namespace is named in each of the first ten


def lose_answers(monkeypatch: pytest.MonkeyPatch, names: set, reread_fails: bool) -> None:
    """FAULT INJECTION around the real client: for the named Services the module's real PATCH reaches the real
    apiserver and is applied there, then its answer is dropped as a broken connection would drop it; with
    `reread_fails` the module's re-read of such a Service is dropped too (the apiserver is gone for it)."""
    from ansible_collections.hostreach.kind.plugins.module_utils._errors import KubeUnreachable
    from ansible_collections.hostreach.kind.plugins.module_utils._kube import KubeApi

    patch_service, read_service = KubeApi.patch_service, KubeApi.read_service

    def patch_then_lose_the_answer(api, namespace, name, patch, dry_run):
        answer = patch_service(api, namespace, name, patch, dry_run)
        if not dry_run and name in names:
            raise KubeUnreachable(f"cannot reach the Kubernetes API server {api.server} (fault injected)", summary="connection lost (fault injected).")
        return answer

    def read_or_lose(api, namespace, name):
        if reread_fails and name in names:
            raise KubeUnreachable("cannot reach the Kubernetes API server (fault injected)", summary="connection lost (fault injected).")
        return read_service(api, namespace, name)

    monkeypatch.setattr(KubeApi, "patch_service", patch_then_lose_the_answer)
    monkeypatch.setattr(KubeApi, "read_service", read_or_lose)


def expose_three_losing_the_answer_for_b(kube: Kube, namespace: str, in_process, monkeypatch: pytest.MonkeyPatch, reread_fails: bool) -> dict:
    """ClusterIP Services a, b and c, exposed in-process with the answer to b's write lost (see lose_answers)."""
    for name in "abc":
        kube.create(namespace, name)
    lose_answers(monkeypatch, {"b"}, reread_fails)
    return in_process(kube.args(namespaces=[namespace]))


def test_a_write_whose_answer_was_lost_is_read_again_and_reported_as_the_server_has_it(
    kube: Kube, tier1_namespace: str, in_process, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = expose_three_losing_the_answer_for_b(kube, tier1_namespace, in_process, monkeypatch, reread_fails=False)

    assert not result.get("failed"), result.get("msg")
    assert {n: kube.read(tier1_namespace, n)["spec"]["type"] for n in "abc"} == {"a": "NodePort", "b": "NodePort", "c": "NodePort"}
    assert {s["name"]: s["changed"] for s in result["services"]} == {"a": True, "b": True, "c": True}


def test_a_write_that_cannot_be_confirmed_is_called_uncertain_and_the_others_written(
    kube: Kube, tier1_namespace: str, in_process, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = expose_three_losing_the_answer_for_b(kube, tier1_namespace, in_process, monkeypatch, reread_fails=True)

    assert result["failed"] and result["changed"] is True
    assert "(fault injected); whether the write went through is unknown (the Service could not be read again): run again" in result["msg"]
    assert f"[1 Service: {tier1_namespace}/b]" in result["msg"]
    assert result["written"] == [f"{tier1_namespace}/a", f"{tier1_namespace}/c"]
    assert result["msg"].endswith(f"(already changed: 2 Services: {tier1_namespace}/a, {tier1_namespace}/c)")
    stored = kube.read(tier1_namespace, "b")
    assert stored["spec"]["type"] == "NodePort" and json.loads(stored["metadata"]["annotations"][ANNOTATION]) == {"type": "ClusterIP"}
