# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The chain of links from this host to a kind Service, in order, and the shape of a finding about one link.

Declared once here (issue 19, items 1 and 3): roles/_common resolves which links a run sets up
(hostreach_kind_chain, hostreach_kind_links); expose.yml and teardown.yml include the roles of those links, and the
doctor includes each link's own check (tasks/check.yml of the role that sets it up) in this order. Every check reports
with finding(), so the doctor's table has one shape. Documentation: chain_links.yml and finding.yml beside this file.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

STATUSES = ("ok", "broken", "n/a")
MODES = ("connector", "direct")
REACHES = ("nodeport", "routes", "both")


class Link(t.NamedTuple):
    """A link: the role that owns it, its check (a tasks file of that role) and the variable the check returns its
    findings in, whether expose sets it up (the links of _common are only checked), and what the check needs first:
    the engine answering, a kind node of the run's clusters running."""

    role: str
    check: str
    findings: str
    sets_up: bool
    needs_engine: bool
    needs_nodes: bool


CHAIN = (
    Link("_common", "check.yml", "hostreach_kind_findings", False, False, False),  # the Docker engine and the mode
    Link("docker_connector", "check.yml", "docker_connector_findings", True, False, False),  # host side: brew, daemon, routes
    Link("connector_container", "check.yml", "connector_container_findings", True, True, False),  # VM side: container, firewall
    Link("_common", "check_nodes.yml", "hostreach_kind_node_findings", False, True, False),  # each kind node answers
    Link("cluster_routes", "check.yml", "cluster_routes_findings", True, True, True),  # the clusters' ranges through their nodes
    Link("cluster_dns", "check.yml", "cluster_dns_findings", True, True, True),  # the clusters' names to their DNS Service
    Link("nodeport_services", "check.yml", "nodeport_services_findings", True, True, True),  # the Services' URLs, probed
    Link("watch", "check.yml", "watch_findings", False, False, False),  # the watch agent's service (expose installs it on request)
    Link("pull", "check.yml", "pull_findings", False, False, False),  # the pull timer (expose installs it on request)
)

# The host-side steps a connector-mode run can leave out: the doctor says so (n/a) instead of looking.
LEFT_OUT = {
    "docker_connector": (
        "connector",
        "Host side",
        "Homebrew, the LaunchDaemon, the config's routes and the host's routes are not looked at",
    ),
    "connector_container": ("container", "VM side", "the connector container and the VM's firewall are not looked at"),
}


def _runs(role: str, mode: str, steps: list, reach: str, dns: bool) -> bool:
    services = "services" in steps
    routes = services and reach in ("routes", "both")
    return {
        "_common": True,
        "docker_connector": mode == "connector" and "connector" in steps,
        "connector_container": mode == "connector" and "container" in steps,
        "cluster_routes": routes,
        "cluster_dns": routes and dns,
        "nodeport_services": services,
        "watch": True,
        "pull": True,
    }[role]


def _why_not(role: str, mode: str, steps: list) -> dict:
    """The n/a finding of a connector-mode step left out of the steps, else nothing."""
    if mode != "connector" or role not in LEFT_OUT or LEFT_OUT[role][0] in steps:
        return {}
    step, link, what = LEFT_OUT[role]
    return finding(link, "n/a", f"the {step} step is not among hostreach_kind_steps ({', '.join(steps)}): {what}")


def chain_links(mode: str, steps: list, reach: str, dns: object) -> list:
    """Every link in the chain's order, with whether this run sets it up or checks it (``runs``) and, for a
    connector-mode step left out, the n/a finding the doctor reports instead (``left_out``)."""
    if mode not in MODES or reach not in REACHES or not isinstance(steps, list):
        raise AnsibleFilterError(f"chain_links: mode {mode!r}, reach {reach!r}, steps {steps!r} are not a resolved run")
    try:
        dns_on = boolean(dns, strict=True)  # as Ansible's `| bool` takes it (y, t, on, 1, ...)
    except TypeError as exc:
        raise AnsibleFilterError(f"chain_links: dns {dns!r} is no boolean (hostreach_kind_dns)") from exc
    return [link._asdict() | {"runs": _runs(link.role, mode, steps, reach, dns_on), "left_out": _why_not(link.role, mode, steps)} for link in CHAIN]


def chain_roles(chain: list, reverse: bool = False) -> list:
    """The roles a run sets up (expose's order, or teardown's with ``reverse``): those of ``chain_links`` that run."""
    roles = [link["role"] for link in chain if link["runs"] and link["sets_up"]]
    return roles[::-1] if reverse else roles


def finding(link: str, status: str, detail: object, fix: object = "") -> dict:
    """One line of the doctor's table: the link, ok / broken / n/a, what was seen, and for broken the fix."""
    if status not in STATUSES:
        raise AnsibleFilterError(f"finding {link!r}: status {status!r} is none of {', '.join(STATUSES)}")
    return {"link": str(link), "status": status, "detail": " ".join(str(detail).split()), "fix": " ".join(str(fix or "").split())}


class FilterModule:
    """hostreach.kind.chain_links, chain_roles, finding"""

    def filters(self) -> dict:
        return {"chain_links": chain_links, "chain_roles": chain_roles, "finding": finding}
