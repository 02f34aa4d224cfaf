#!/usr/bin/python
# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kind_service_urls
short_description: List the URLs of Kubernetes Services that open from the host, and probe them, without changing anything
version_added: 0.2.0
description:
  - Reads the selected Services of a kind cluster (or any Kubernetes cluster) and returns the URLs they open at from
    the developer's machine, and with O(probe=true) whether each one answers, and why not.
  - Read-only - it never writes to the cluster or to this host, never reports C(changed), and returns the same in
    check mode. M(hostreach.kind.kind_nodeport) is the module that switches Services to C(NodePort) (and back).
  - "API requests: one LIST of Services per namespace (one GET of the namespace when its LIST came back empty: a
    namespace that does not exist fails the task), one LIST of Nodes, and with O(probe=true) one LIST of
    EndpointSlices per namespace."
author:
  - hostreach.kind contributors (@hostreach)
extends_documentation_fragment:
  - hostreach.kind._kube
  - hostreach.kind._services
  - hostreach.kind._attributes
  - hostreach.kind._attributes.actiongroup_hostreach
options:
  services:
    description:
      - Services to list, by name (a Service that does not exist fails the task, and the message lists the Services
        its namespace has).
      - Every name and namespace must be a DNS-1123 label; anything else, an empty string above all, fails the task
        before any request is made.
    type: list
    elements: dict
    suboptions:
      name:
        required: true
        type: str
        description: The Service's name.
      namespace:
        default: default
        type: str
        description: The Service's namespace.
      node_ports:
        type: dict
        description:
          - Ignored - the nodePorts M(hostreach.kind.kind_nodeport) fixes. Accepted so that one list of Services serves
            both modules; the URLs show the nodePorts the Services have.
  reach:
    description:
      - Which URLs to list.
      - V(nodeport) - C(http://<node IP>:<nodePort>) of the Services that already are C(NodePort) or C(LoadBalancer)
        (M(hostreach.kind.kind_nodeport) makes them so). A C(ClusterIP) Service has no node URL; its C(skip_reason) in
        RV(services) says so.
      - V(routes) - C(http://<clusterIP>:<port>), and with O(dns_domain) the Service's name, which open once the
        cluster's ranges are routed through its nodes (M(hostreach.kind.kind_cluster_routes)).
      - V(both) - both kinds.
      - A C(LoadBalancer) Service whose status has an ingress address also gets C(http://<ingress address>:<port>) URLs,
        whatever O(reach) is. Headless and C(ExternalName) Services get none, with the reason in their C(skip_reason).
    type: str
    choices: [nodeport, routes, both]
    default: nodeport
attributes:
  check_mode:
    support: full
    details:
      - Nothing is ever changed, so a run in check mode reads, probes and returns the same as any other.
  diff_mode:
    support: N/A
    details:
      - Nothing is ever changed.
notes:
  - The URLs, their schemes (C(http://) by C(appProtocol), port name or port number) and the node addresses (by the
    Service's C(spec.ipFamilies)) are those of M(hostreach.kind.kind_nodeport); see its notes.
  - When the user may not list Nodes, the task warns and returns no node IPs and no node URLs.
seealso:
  - module: hostreach.kind.kind_nodeport
    description: Switches Services to NodePort, so that they get node URLs.
  - module: hostreach.kind.kind_cluster_routes
    description: Routes a cluster's Service and Pod ranges through its nodes, so that the ClusterIP URLs open.
  - module: hostreach.kind.kind_cluster_dns
    description: Sends the cluster's DNS domain to its DNS Service, so that the Service names resolve.
"""

EXAMPLES = r"""
- name: The ClusterIP URLs (and names) of the Services labelled expose=true, and whether they answer
  hostreach.kind.kind_service_urls:
    cluster: dev
    namespaces: [default, backend]
    label_selector: expose=true
    reach: routes
    dns_domain: dev.kind
    probe: true
  register: listed

- name: Report the URLs that did not answer
  ansible.builtin.debug:
    msg: "{{ listed.probes | rejectattr('reachable') | map(attribute='url') | list }}"

- name: The node URLs of a Service that kind_nodeport exposed
  hostreach.kind.kind_service_urls:
    services:
      - name: web
        namespace: default
  register: web

- name: Show them
  ansible.builtin.debug:
    var: web.urls
"""

RETURN = r"""
services:
  description:
    - Every selected Service, in the order selected (named ones first), with the fields of
      RV(hostreach.kind.kind_nodeport#module:services) - C(namespace), C(name), C(type_before) and C(type_after) (the
      same here, nothing changes the type), C(ports) (each with its C(node_port), V(null) when it has none, and its
      C(urls)), C(endpoints) (with O(probe=true)), C(urls) (for O(reach), and one per port and load balancer ingress
      address), C(changed) (always V(false)) and C(skip_reason).
    - C(skip_reason) says why a Service has no URL (headless, C(ExternalName), no nodePort with O(reach=nodeport), no
      node address of its C(spec.ipFamilies)), else it is null.
  returned: success
  type: list
  elements: dict
  sample:
    - namespace: default
      name: api
      type_before: ClusterIP
      type_after: ClusterIP
      ports: [{name: http, port: 80, protocol: TCP, app_protocol: null, node_port: null, urls: [http://10.96.0.15:80]}]
      endpoints: {ready: 1, not_ready: 0, selector: app=api}
      urls: [http://10.96.0.15:80]
      changed: false
      skip_reason: null
nodes:
  description: Each node's InternalIP (IPv4 preferred) by node name, from the cluster's Node objects.
  returned: success
  type: dict
  sample: {kind-control-plane: 172.18.0.2}
urls:
  description: Every URL of the selected Services, in their order.
  returned: success
  type: list
  elements: str
  sample: [http://10.96.0.15:80, http://api.default.svc.dev.kind:80]
probes:
  description:
    - With O(probe=true), one result per URL, in the order of RV(urls), with the fields of
      RV(hostreach.kind.kind_nodeport#module:probes) - C(url), C(reachable), C(status) (the HTTP status, or V(null)),
      C(error) (what failed, or V(null)), C(diagnosis), C(hint) (what to look at, empty when reachable), C(waited)
      (always V(0) - nothing was changed, so nothing is waited for) and, with V(no ready endpoints), C(endpoints) (the
      C(ready) and C(not_ready) counts of the port).
    - C(diagnosis) is one of V(reachable), V(no ready endpoints), V(refused), V(timed out), V(no route to host),
      V(TLS failure), V(HTTP error), V(connect failed), V(not routed), V(name not resolved) or V(not probed). The second
      and the last three are decided without a probe - no pod is ready behind the port, this host does not route the
      address through a kind node, it does not resolve the name, or the port is UDP or SCTP (C(reachable) is null).
  returned: when O(probe=true)
  type: list
  elements: dict
  sample:
    - {url: http://10.96.0.15:80, reachable: true, status: 200, error: null, diagnosis: reachable, hint: "", waited: 0.0}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hostreach.kind.plugins.module_utils import _nodeport_plan, _service_phases
from ansible_collections.hostreach.kind.plugins.module_utils._errors import HostreachError, failure


def argument_spec() -> dict:
    """AnsibleModule's keyword arguments (also used by the tests that check the documented examples)."""
    return _service_phases.argument_spec(dict(_service_phases.SERVICE_ENTRY, node_ports={"type": "dict"}))


def run(module: AnsibleModule) -> dict:
    """gather (the Services) → plan (nothing to change: each Service as it is, and why it has no URL) → gather (Nodes,
    EndpointSlices, this host's routes and names) → probe → report. No apply phase, and no wait: nothing changes."""
    params = dict(module.params, services=[{"name": s["name"], "namespace": s["namespace"]} for s in module.params["services"] or []])
    api = _service_phases.connect(params)
    listed, selected = _service_phases.gather_services(api, params)
    results = [(_nodeport_plan.unchanged(service, params["reach"]), service) for service, _node_ports in selected]
    return _service_phases.urls_and_probes(module, api, listed, results, params["reach"])


def main() -> None:
    module = AnsibleModule(**argument_spec())
    try:
        module.exit_json(**run(module))
    except HostreachError as exc:
        module.fail_json(**failure(exc))


if __name__ == "__main__":
    main()
