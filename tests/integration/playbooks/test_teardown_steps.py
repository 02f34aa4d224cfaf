"""teardown.yml tries every step (issue 20, item 5): a step that fails does not stop the later ones, the failures are
listed together in the closing summary, and the run exits non-zero. No cluster is needed: the kubeconfig has no context
for the cluster (as after kind delete cluster), and the Services step is made to fail on a namespace name no cluster
accepts (kind_nodeport refuses it before any connection)."""

from __future__ import annotations

from pathlib import Path

from tests.ansible_runner import playbook

CLUSTER = "hostreach-never"


def test_a_failing_step_leaves_the_later_steps_to_run_and_the_failures_are_reported_at_the_end(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    settings = {
        "hostreach_kind_mode": "direct",
        "hostreach_kind_steps": ["services"],
        "hostreach_kind_reach": "routes",
        "hostreach_kind_cluster": CLUSTER,
        "hostreach_kind_kubeconfig": str(kubeconfig),
        "hostreach_kind_namespaces": ["Not_A_Namespace"],
    }
    done = playbook("hostreach.kind.teardown", settings, env={"XDG_STATE_HOME": str(tmp_path / "state")})
    out = done.stdout
    assert done.returncode != 0, out
    # The Services step failed; the DNS and routes steps ran after it, each finding the cluster gone and nothing left.
    failed_at = out.index("TASK [hostreach.kind._common : Remember what became of this host]")  # the Services step's rescue
    assert out.index("TASK [Restore the Services]") < failed_at
    assert failed_at < out.index("TASK [Undo the resolving of the clusters' Service names]") < out.index("TASK [Remove the routes to the clusters' ranges]")
    assert f"Cluster {CLUSTER} is gone (its context is not in the kubeconfig): no route of the record expose left is in place." in out
    summary = out[out.index("_common : Every host and what became of it]") :]
    assert "localhost  failed       the Services: at " in summary and "Not_A_Namespace" in summary, summary
    assert "1 host: 1 failed" in summary
