"""kind_cluster_dns with systemd-resolved: a domain the cluster names that would take the host's own names is refused
before `resolvectl` is run at all (not even to read), in check mode too, and teardown leaves it alone. The module runs
in-process with the cluster's side given and AnsibleModule.run_command recording every command instead of running it."""

from __future__ import annotations

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common import warnings as ansible_warnings
from ansible_collections.hostreach.kind.plugins.modules import kind_cluster_dns

from tests.ansible_runner import in_process

CLUSTER = kind_cluster_dns.Cluster("cluster.local", "clusterDomain of kube-system/kubelet-config", "10.96.0.10", {"172.18.0.2"})


@pytest.mark.parametrize("check", [False, True], ids=["run", "check"])
@pytest.mark.parametrize("domain", ["com", "local", "10.in-addr.arpa", "example.com"])
def test_a_refused_domain_runs_no_resolvectl(monkeypatch: pytest.MonkeyPatch, domain: str, check: bool) -> None:
    commands = []
    monkeypatch.setattr(kind_cluster_dns, "gather_cluster", lambda params: CLUSTER._replace(domain=domain))
    monkeypatch.setattr(AnsibleModule, "run_command", lambda self, args, **kwargs: commands.append(args) or (0, "", ""))
    says = f"the cluster dev serves the DNS domain {domain} (clusterDomain of kube-system/kubelet-config), which is not"
    refused = in_process(kind_cluster_dns, {"cluster": "dev", "resolver": "resolved"}, check=check)
    assert refused["failed"] is True and refused["changed"] is False and refused["msg"].startswith(says)
    monkeypatch.setattr(ansible_warnings, "_global_warnings", {})  # Ansible keeps warnings for the process
    torn = in_process(kind_cluster_dns, {"cluster": "dev", "resolver": "resolved", "state": "absent"}, check=check)
    assert torn["changed"] is False and not torn.get("failed"), torn.get("msg")
    assert [(w["event"]["msg"] if isinstance(w, dict) else w).startswith(says) for w in torn["warnings"]] == [True]
    assert commands == []


def test_apply_false_reads_resolved_but_leaves_every_change_to_the_root_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 18 item 9: as the user the module may read (`resolvectl status/dns/domain`), never change; the commands it
    plans come back as argument lists for the role's root task."""
    commands = []
    link = "br-1e9b417bacdc"
    answers = {"dns": f"Global:\nLink 7 ({link}):\n", "domain": f"Global:\nLink 7 ({link}):\n"}
    monkeypatch.setattr(kind_cluster_dns, "gather_cluster", lambda params: CLUSTER)
    monkeypatch.setattr(kind_cluster_dns, "routed_link", lambda cluster, check_mode=False: link)
    monkeypatch.setattr(AnsibleModule, "run_command", lambda self, args, **kwargs: commands.append(args) or (0, answers.get(args[-1], ""), ""))
    planned = in_process(kind_cluster_dns, {"cluster": "dev", "resolver": "resolved", "apply": False})
    assert not planned.get("failed"), planned.get("msg")
    assert planned["changed"] is True and planned["link"] == link
    assert planned["commands"] == [["resolvectl", "dns", link, "10.96.0.10"], ["resolvectl", "domain", link, "~cluster.local"]]
    assert commands == [["resolvectl", "dns"], ["resolvectl", "domain"]]  # read only
