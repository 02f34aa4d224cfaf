# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options of the modules that select Services and give (and probe) their URLs: kind_nodeport and kind_service_urls.
Private to the collection; the options are declared once, beside this text, in module_utils/_service_phases.py
SERVICE_ARGS; a unit test keeps the two equal. O(services) and O(reach) mean something else in each module, so each
documents its own."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  namespaces:
    description:
      - Every Service of these namespaces (that matches O(label_selector)), except C(default/kubernetes).
      - Each entry must be a DNS-1123 label; an empty entry is an error, never "every namespace".
      - Can be combined with O(services).
    type: list
    elements: str
  label_selector:
    description:
      - Label selector (as C(kubectl get -l) takes it) that limits the Services picked from O(namespaces).
    type: str
  dns_domain:
    description:
      - With O(reach=routes) or V(both), the cluster's DNS domain (RV(hostreach.kind.kind_cluster_dns#module:domain)); every
        port also gets a URL at the Service's name, C(http://<name>.<namespace>.svc.<domain>:<port>), probed by name (this
        host's resolver must send the domain to the cluster's DNS, M(hostreach.kind.kind_cluster_dns)). A name that does
        not resolve is V(name not resolved), one that resolves to an address not routed through a kind node V(not routed);
        neither is probed.
    type: str
  tunnel:
    description:
      - Whether this host reaches the kind network through docker-connector's tunnel, with the Docker VM in between
        (connector mode). It only changes the hints of failed probes - a timeout then points at the connector's route
        and the Docker VM's firewall, not at this host's firewall.
      - Default - V(true) on macOS, V(false) elsewhere. The playbooks pass their mode (OrbStack on macOS is direct).
    type: bool
  probe:
    description:
      - Check every returned URL from the host the module runs on (a TCP connect, and an HTTP GET for HTTP
        URLs, with timeouts of a few seconds) and report the result in RV(probes), each with a C(diagnosis) and a
        C(hint).
      - First one LIST of EndpointSlices per namespace (one cluster-wide LIST when the Services were listed so) tells
        how many endpoints are ready behind each port. A port without a ready endpoint is not probed; its URLs are
        reported V(no ready endpoints), with the count of endpoints that are not ready, or the selector that matches
        no pod.
      - A ClusterIP, a Service name or a load balancer address is probed only when this host routes it through a kind
        node (a node's IP as gateway, or docker-connector's C(utun) tunnel; a load balancer address may also be a node's
        own, or on the nodes' network); otherwise it is reported V(not routed) and never sent a packet. The routes and
        names are read once, before the first probe.
      - The other URLs are probed at once (up to 32 at a time). Only M(hostreach.kind.kind_nodeport) waits, and only
        for the URLs of a Service it changed in this run (not in check mode) - kube-proxy opens a new nodePort a moment
        after the change, so they may refuse connections until one shared deadline 10 seconds after the probes start;
        the C(waited) of each of RV(probes) says how long it was waited for. While such URLs are waited for, the EndpointSlices
        are listed again every second, and a routed URL whose port became ready meanwhile is probed too, under the same
        deadline (the C(endpoints) of its Service in RV(services) still show the first count).
      - An unreachable URL does not fail the task.
    type: bool
    default: false
"""
