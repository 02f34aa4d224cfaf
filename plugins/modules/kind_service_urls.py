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
        description: Name of the Service.
        type: str
        required: true
      namespace:
        description: Namespace of the Service.
        type: str
        default: default
  reach:
    description:
      - Which URLs to list.
      - V(nodeport) - C(http://<node IP>:<nodePort>) of the Services that already are C(NodePort) or C(LoadBalancer)
        (M(hostreach.kind.kind_nodeport) makes them so). A C(ClusterIP) Service has no node URL; its
        RV(services[].skip_reason) says so.
      - V(routes) - C(http://<clusterIP>:<port>), and with O(dns_domain) the Service's name, which open once the
        cluster's ranges are routed through its nodes (M(hostreach.kind.kind_cluster_routes)).
      - V(both) - both kinds.
      - A C(LoadBalancer) Service whose status has an ingress address also gets C(http://<ingress address>:<port>) URLs,
        whatever O(reach) is. Headless and C(ExternalName) Services get none, with the reason in
        RV(services[].skip_reason).
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
    - Every selected Service, in the order selected (named ones first), with the same fields as
      RV(hostreach.kind.kind_nodeport#module:services).
  returned: success
  type: list
  elements: dict
  contains:
    namespace:
      description: Namespace of the Service.
      type: str
      sample: default
    name:
      description: Name of the Service.
      type: str
      sample: web
    type_before:
      description: The Service's type (nothing changes it).
      type: str
      sample: NodePort
    type_after:
      description: The Service's type, as RV(services[].type_before).
      type: str
      sample: NodePort
    ports:
      description: Every port of the Service, with its nodePort (V(null) when it has none) and its URLs.
      type: list
      elements: dict
      sample:
        - name: http
          port: 80
          protocol: TCP
          app_protocol: null
          node_port: 30080
          urls: [http://172.18.0.2:30080]
    endpoints:
      description:
        - With O(probe=true), the C(ready) and C(not_ready) endpoints of all its ports (from its EndpointSlices), and its
          C(selector) (V(null) for a Service without one). Each port in RV(services[].ports) has its own C(endpoints).
      type: dict
      sample: {ready: 1, not_ready: 0, selector: app=web}
    urls:
      description: The URLs of all its ports for O(reach), and one per port and load balancer ingress address.
      type: list
      elements: str
      sample: [http://172.18.0.2:30080]
    changed:
      description: Always V(false), as C(changed).
      type: bool
      sample: false
    skip_reason:
      description:
        - Why the Service has no URL (headless, C(ExternalName), no nodePort with O(reach=nodeport), no node address of
          its C(spec.ipFamilies)), else null.
      type: str
      sample: "type ClusterIP: no nodePort, so no node URL (kind_nodeport switches it to NodePort; reach routes opens its ClusterIP)"
nodes:
  description: Node name to InternalIP (IPv4 preferred), from the cluster's Node objects.
  returned: success
  type: dict
  sample:
    kind-control-plane: 172.18.0.2
urls:
  description: All URLs of all selected Services, in order.
  returned: success
  type: list
  elements: str
  sample: [http://10.96.0.15:80, http://web.default.svc.dev.kind:80]
probes:
  description:
    - With O(probe=true), per URL whether it answered from the host the module ran on, and why not; the same fields as
      RV(hostreach.kind.kind_nodeport#module:probes).
    - C(diagnosis) is one of V(reachable), V(no ready endpoints), V(refused), V(timed out), V(no route to host),
      V(TLS failure), V(HTTP error), V(connect failed), V(not routed) or V(name not resolved); the last three without a
      probe where the port has no ready pod, the address is not routed through a kind node, or the name does not
      resolve.
    - C(hint) is one line saying what to look at (empty when reachable); C(waited) is always V(0) (nothing was changed,
      so nothing is waited for); C(endpoints) (only with V(no ready endpoints)) has the C(ready) and C(not_ready) counts
      of the port.
  returned: when O(probe=true)
  type: list
  elements: dict
  contains:
    url:
      description: The URL.
      type: str
    reachable:
      description: Whether it answered (TCP connected, and for an HTTP URL some HTTP answer came).
      type: bool
    status:
      description: The HTTP status, for HTTP URLs that answered.
      type: int
    error:
      description: What failed, or V(null).
      type: str
    diagnosis:
      description: Why it does or does not answer, one of the vocabulary above.
      type: str
    hint:
      description: What to look at, one line (empty when reachable).
      type: str
    waited:
      description: Seconds the URL was waited for (V(0)).
      type: float
    endpoints:
      description: With V(no ready endpoints), the C(ready) and C(not_ready) counts of the port.
      type: dict
  sample:
    - url: http://10.96.0.15:80
      reachable: true
      status: 200
      error: null
      diagnosis: reachable
      hint: ""
      waited: 0.0
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hostreach.kind.plugins.module_utils import _kube, _nodeport_plan, _service_phases
from ansible_collections.hostreach.kind.plugins.module_utils._errors import HostreachError, failure


def argument_spec() -> dict:
    """AnsibleModule's keyword arguments (also used by the tests that check the documented examples)."""
    return dict(
        argument_spec=dict(
            _kube.KUBE_COMMON_ARGS,
            **_service_phases.SERVICE_ARGS,
            services={"type": "list", "elements": "dict", "options": dict(_service_phases.SERVICE_ENTRY)},
            reach={"type": "str", "choices": ["nodeport", "routes", "both"], "default": "nodeport"},
        ),
        **_service_phases.SELECTION_RULES,
        supports_check_mode=True,
    )


def run(module: AnsibleModule) -> dict:
    """gather (the Services) → plan (nothing to change: each Service as it is, and why it has no URL) → gather (Nodes,
    EndpointSlices, this host's routes and names) → probe → report. No apply phase, and no wait: nothing changes."""
    params = module.params
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
