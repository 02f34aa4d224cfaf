#!/usr/bin/python
# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kind_nodeport
short_description: Switch Kubernetes Services to NodePort (and back) and return URLs that open from the host
version_added: 0.1.0
description:
  - Makes the selected Services of a kind cluster (or any Kubernetes cluster) type C(NodePort), so that
    C(http://<node IP>:<nodePort>) opens from the developer's machine, and returns the node IPs, the
    nodePorts and those URLs.
  - The apiserver allocates the nodePorts, unless O(services[].node_ports) fixes them.
  - Before the first change, the Service's original type (and C(externalTrafficPolicy) when it had one) is
    recorded in the annotation C(hostreach.kind/original). O(state=absent) puts back exactly that, drops the
    nodePorts and the annotation, and keeps every other field as it is. Services without the annotation are
    never touched by O(state=absent).
  - Services that are already C(NodePort) or C(LoadBalancer) are left alone and reported with their nodePorts. A
    C(LoadBalancer) Service whose status has an ingress address (cloud-provider-kind and MetalLB give one on kind's
    network) also gets C(http://<ingress address>:<port>) URLs. With O(probe=true) such an address (it is read from the
    cluster) is probed only when it is a node's own InternalIP, or this host routes it as it routes the nodes (the kind
    network, never a default route), through a node, or through docker-connector's C(utun) tunnel; any other address is
    reported V(not routed) and never sent a packet. C(spec.externalIPs) are not read and get no URL.
  - Headless Services (C(clusterIP=None)) and C(ExternalName) Services are skipped, with the reason in
    RV(services[].skip_reason).
  - Every port of a multi-port Service is kept, including the same port on TCP and UDP.
  - Everything is validated before the first write. A fixed nodePort that another Service holds fails the task
    naming both Services; one outside the cluster's nodePort range fails it naming the range. The range is the
    C(--service-node-port-range) recorded in the C(kube-system/kubeadm-config) ConfigMap of kind (and other
    kubeadm) clusters, else the Kubernetes default 30000-32767. Then every planned change is sent to the
    apiserver as a server-side dry run, which catches anything else the apiserver refuses (RBAC, validation);
    only when all of them pass is the first Service written.
  - Writes are JSON patches that carry the resourceVersion that was read. When a Service changed in between
    (HTTP 409 Conflict) the module reads it again and plans again, up to three times.
  - "API requests: one LIST of Services per namespace, or instead a single cluster-wide LIST when
    O(services[].node_ports) is used (needed to see which nodePorts are taken); one GET of the namespace
    when its LIST came back empty (a namespace that does not exist fails the task); one GET of
    C(kube-system/kubeadm-config) when a fixed nodePort is not in place yet; one LIST of Nodes with
    O(state=present); and two PATCH requests (dry run, then the write) per Service that changes. A run that
    changes nothing makes two requests for one namespace with O(state=present) (the Services LIST and the Nodes
    LIST), and one with O(state=absent). O(probe=true) adds one LIST of EndpointSlices per namespace. The
    PATCH requests go out up to eight at a time, each Service on its own; the dry runs all finish before the
    first write."
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
      - Services to expose (or restore), by name.
      - A Service that does not exist fails the task, and the message lists the Services its namespace has.
      - Every name and namespace must be a DNS-1123 label (what Kubernetes accepts for them); anything else, an empty
        string above all, fails the task before any request is made.
      - A Service listed twice must be listed alike; two entries with different O(services[].node_ports) fail the task
        naming both.
      - The API server's own Service C(kubernetes) in namespace C(default) is never changed.
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
      node_ports:
        description:
          - Fixed nodePorts, as a mapping from a port name (or a port number, which matches both its TCP
            and UDP entries) to the nodePort. Ports not listed get one allocated by the apiserver.
          - A nodePort another Service holds, or one outside the cluster's nodePort range (30000-32767 unless
            C(kube-system/kubeadm-config) records another C(--service-node-port-range)), fails the task before
            anything is written. A nodePort must be a whole number (V(30080) or V("30080")); V(30080.7) or V(true)
            fail the task.
          - Only used with O(state=present).
        type: dict
  state:
    description:
      - V(present) makes the selected Services type C(NodePort).
      - V(absent) restores the selected Services that this module changed to what they were before.
    type: str
    choices: [present, absent]
    default: present
  reach:
    description:
      - How the Services are opened from the host.
      - V(nodeport) switches them to C(NodePort) and returns C(http://<node IP>:<nodePort>) URLs.
      - V(routes) patches nothing (a Service owned by Helm, Argo CD or Flux stays exactly as its owner wrote it) and returns
        C(http://<clusterIP>:<port>) URLs, which open once the cluster's ranges are routed through its nodes
        (M(hostreach.kind.kind_cluster_routes)). Before probing one, the module checks this host routes it through a kind
        node (a node's IP as gateway, or docker-connector's C(utun) tunnel); one that is not is reported V(not routed) and
        never probed. O(state=absent) then restores nothing.
      - V(routes) is deprecated here and will be removed from this module in release 0.3.0, since it patches nothing
        (the task warns so). M(hostreach.kind.kind_service_urls) with O(hostreach.kind.kind_service_urls#module:reach)
        set to V(routes) lists and probes the same URLs.
      - V(both) does both.
    type: str
    choices: [nodeport, routes, both]
    default: nodeport
attributes:
  check_mode:
    support: full
    details:
      - Sends every planned change as a server-side dry run (C(dryRun=All)) and writes nothing, so the apiserver
        validates it all (nodePort range, taken nodePorts, RBAC). Fixed and kept nodePorts are reported; a nodePort
        the apiserver would allocate is reported as V(null), because a dry run does not allocate (it answers
        placeholder numbers above the range).
  diff_mode:
    support: full
    details:
      - Type, ports (with nodePorts) and whether the restore annotation is set, per changed Service, before and after.
notes:
  - The URLs use the nodes' C(InternalIP) addresses (IPv4 preferred). For kind those are the node containers' IPs
    on the C(kind) Docker network; on macOS they open once docker-connector routes that network
    (M(hostreach.kind.docker_bridge_routes)).
  - A Service's node URLs use node addresses of its own C(spec.ipFamilies) (none given means IPv4), IPv4 preferred for a
    dual-stack Service; IPv6 addresses are written in brackets. A Service whose families no node has an address of gets
    no node URL, and its RV(services[].skip_reason) says so.
  - An C(InternalIP) of a Node object that is not an IP address (a name, garbage) is skipped with a warning naming the node.
  - An HTTP URL (V(http://ip:port)) is returned for ports that are evidently HTTP, by C(appProtocol) (C(http),
    C(https), C(kubernetes.io/h2c), C(kubernetes.io/ws), C(kubernetes.io/wss)), else by name (C(http), C(https), C(web),
    C(www), C(http2), C(h2c), C(http-alt), C(http-*), C(https-*), C(*-http), C(*-https)), else by port (80, 8000, 8080,
    443, 8443); the others are given as V(ip:port).
  - When the user may not list Nodes, the task warns and returns no node IPs and no URLs.
seealso:
  - module: hostreach.kind.docker_bridge_routes
  - module: hostreach.kind.kind_service_urls
    description: Lists (and probes) the URLs of Services without changing them.
  - name: Kubernetes Service type NodePort
    description: How nodePorts are allocated and the default range.
    link: https://kubernetes.io/docs/concepts/services-networking/service/#type-nodeport
"""

EXAMPLES = r"""
- name: Expose two Services of the kind cluster "kind", one with a fixed nodePort
  hostreach.kind.kind_nodeport:
    services:
      - name: web
        namespace: default
        node_ports:
          http: 30080
      - name: api
        namespace: backend
  register: exposed

- name: Show the URLs
  ansible.builtin.debug:
    var: exposed.urls

- name: Expose every Service labelled expose=true in two namespaces of cluster "dev", and check the URLs answer
  hostreach.kind.kind_nodeport:
    cluster: dev
    namespaces: [default, backend]
    label_selector: expose=true
    probe: true
  register: exposed

- name: Report the URLs that did not answer
  ansible.builtin.debug:
    msg: "{{ exposed.probes | rejectattr('reachable') | map(attribute='url') | list }}"

- name: Use an explicit kubeconfig and context
  hostreach.kind.kind_nodeport:
    kubeconfig: ~/.kube/kind-dev.yaml
    context: kind-dev
    services:
      - name: web

- name: Put the Services back the way they were
  hostreach.kind.kind_nodeport:
    namespaces: [default, backend]
    state: absent
"""

RETURN = r"""
services:
  description: Every selected Service, in the order selected (named ones first), as it is after the run.
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
      description: The Service's type before the run.
      type: str
      sample: ClusterIP
    type_after:
      description: The Service's type after the run (in check mode, after the dry run).
      type: str
      sample: NodePort
    ports:
      description:
        - Every port of the Service, with its nodePort and its URLs.
        - C(node_port) is V(null) when the port has none, and in check mode when the apiserver would allocate it.
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
      description: The URLs of all its ports, one per port and node, and one per port and load balancer ingress address.
      type: list
      elements: str
      sample: [http://172.18.0.2:30080]
    changed:
      description: Whether the Service was (in check mode, would be) changed.
      type: bool
      sample: true
    skip_reason:
      description:
        - Why the Service was left alone (headless, ExternalName, not changed by this module), or why it has no URL (no
          node has an InternalIP of its C(spec.ipFamilies)), else null.
      type: str
      sample: "headless Service (clusterIP: None) cannot have nodePorts"
nodes:
  description: Node name to InternalIP (IPv4 preferred), from the cluster's Node objects. Empty with O(state=absent).
  returned: success
  type: dict
  sample:
    kind-control-plane: 172.18.0.2
urls:
  description: All URLs of all selected Services, in order.
  returned: success
  type: list
  elements: str
  sample: [http://172.18.0.2:30080, 172.18.0.2:31053]
probes:
  description:
    - With O(probe=true), per URL whether it answered from the host the module ran on, and why not.
    - C(status) is the HTTP status for HTTP URLs (any status counts as reachable), C(error) says what failed.
    - C(diagnosis) is one of V(reachable) (TCP connected, and for an HTTP URL some HTTP answer came), V(no ready endpoints)
      (no pod is ready behind the port, so the network is not the problem; not probed), V(refused) (the address answered,
      nothing listens on the port), V(timed out) (no answer at all, packets are dropped on the way), V(no route to host)
      (this host has no route to the address), V(TLS failure) (TCP connected, the TLS handshake failed), V(HTTP error)
      (TCP connected, no HTTP answer came), V(connect failed) (another socket error, in C(error)) or V(not routed) (a
      ClusterIP this host routes through no kind node, or a load balancer ingress address that is no node's and that this
      host routes neither through a kind node nor as it routes the nodes; not probed, so nothing goes out to an address
      that is not the cluster's; C(error) names the route it would take) or V(name not resolved) (a Service's DNS name, or
      a load balancer's hostname, this host does not resolve; not probed) or V(not probed) (a UDP or SCTP port, which a
      TCP connect cannot test; C(reachable) is null).
    - C(hint) is one line saying what to look at (empty when reachable). A timeout through the tunnel (O(tunnel)) points
      at docker-connector's routes and the Docker VM's firewall, a refused nodePort at kube-proxy, no ready endpoints at
      the pods and their selector.
    - C(waited) is how many seconds the URL was waited for (V(0) unless its Service changed in this run).
    - C(endpoints) (only with V(no ready endpoints)) has the C(ready) and C(not_ready) counts of the port.
  returned: when O(probe=true)
  type: list
  elements: dict
  contains:
    url:
      description: The URL.
      type: str
    reachable:
      description: Whether it answered (TCP connected, and for an HTTP URL some HTTP answer came); V(null) for a UDP or SCTP port, which is not probed.
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
      description: Seconds the URL was waited for.
      type: float
    endpoints:
      description: With V(no ready endpoints), the C(ready) and C(not_ready) counts of the port.
      type: dict
  sample:
    - url: http://172.18.0.2:30080
      reachable: true
      status: 200
      error: null
      diagnosis: reachable
      hint: ""
      waited: 0.5
    - url: http://172.18.0.2:31234
      reachable: false
      status: null
      error: null
      diagnosis: no ready endpoints
      hint: "no pod matches the selector app=api (kubectl get pods -n default -l app=api): scaled to zero, or the labels differ"
      waited: 0.0
      endpoints: {ready: 0, not_ready: 0}
"""

from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hostreach.kind.plugins.module_utils import _kube, _nodeport_plan, _service_phases
from ansible_collections.hostreach.kind.plugins.module_utils._errors import (
    HostreachError,
    KubeConflict,
    KubeError,
    KubeUnreachable,
    PlanError,
    failure,
    summarize,
    summarize_names,
)

MAX_ATTEMPTS = 3
ROUTES_DEPRECATION = (
    "kind_nodeport's reach=routes patches nothing: it only lists (and probes) the ClusterIP URLs, which is what "
    "hostreach.kind.kind_service_urls does; use that module with reach=routes instead"
)


def argument_spec() -> dict:
    """AnsibleModule's keyword arguments (also used by the tests that check the documented examples)."""
    state = {"type": "str", "choices": ["present", "absent"], "default": "present"}
    return _service_phases.argument_spec(dict(_service_phases.SERVICE_ENTRY, node_ports={"type": "dict"}), state=state)


# Apply


def send(api: _kube.KubeApi, plan: _nodeport_plan.Plan, service: dict, node_ports: dict, state: str, dry_run: bool) -> tuple:
    """Apply the plan's patch; on 409 Conflict read the Service again and plan again.
    Returns (the plan that was applied, the Service as the apiserver returned it)."""
    for _attempt in range(MAX_ATTEMPTS):
        if not plan.patch:
            return plan, service
        try:
            return plan, api.patch_service(plan.namespace, plan.name, plan.patch, dry_run)
        except KubeConflict:
            service = api.read_service(plan.namespace, plan.name)
            plan = _nodeport_plan.plan(service, state, node_ports)
        except KubeUnreachable as exc:
            if dry_run:
                raise
            return plan, confirm_write(api, plan, exc)
    raise KubeError(f"{plan.key} kept changing while it was being patched ({MAX_ATTEMPTS} conflicts in a row); run again")


def confirm_write(api: _kube.KubeApi, plan: _nodeport_plan.Plan, lost: KubeUnreachable) -> dict:
    """The connection broke during a write, so it may have gone through: read the Service again and report what
    the server says. Written: the Service as it is; not written: the original error; no answer: uncertain."""
    try:
        service = api.read_service(plan.namespace, plan.name)
    except KubeUnreachable:
        raise KubeUnreachable(
            f"{lost.msg}; whether the write went through is unknown (the Service could not be read again): run again",
            summary=f"{lost.summary} Whether these writes went through is unknown: run again",
        ) from None
    if _nodeport_plan.reached(plan, service):
        return service
    raise lost


def apply(api: _kube.KubeApi, plans: list, state: str, dry_run: bool) -> list:
    """Send every plan, _kube.CONCURRENT_REQUESTS at a time (each Service is patched on its own, so the
    order does not matter); collect every failure, and say which Services were written before one failed."""

    def attempt(item: tuple) -> tuple:
        plan, service, node_ports = item
        try:
            return send(api, plan, service, node_ports, state, dry_run), None
        except (KubeError, PlanError) as exc:
            return None, (plan.key, exc)

    with ThreadPoolExecutor(max_workers=_kube.CONCURRENT_REQUESTS) as pool:
        outcomes = list(pool.map(attempt, plans))
    results = [result for result, _failure in outcomes if result]
    failures = [failure for _result, failure in outcomes if failure]
    if failures:
        written = [plan.key for plan, _service in results if plan.changed and not dry_run]
        done = f"already changed: {summarize_names(written)}" if written else "nothing was changed"
        raise KubeError(f"{summarize(failures)} ({done})", written=written)
    return results


def converge(module: AnsibleModule, api: _kube.KubeApi, plans: list) -> list:
    """Every change as a server-side dry run first (validation); then, unless in check mode, the writes."""
    state = module.params["state"]
    results = apply(api, plans, state, dry_run=True)
    if module.check_mode:
        return [(plan, _nodeport_plan.without_dry_run_placeholders(service, plan)) for plan, service in results]
    return apply(api, plans, state, dry_run=False)


def run(module: AnsibleModule) -> dict:
    """gather (the Services) → plan → apply (dry runs; the writes unless in check mode) → gather (Nodes, EndpointSlices,
    this host's routes and names) → probe → report: the phases after apply are _service_phases.urls_and_probes."""
    params = module.params
    api = _service_phases.connect(params)
    listed, selected = _service_phases.gather_services(api, params)
    if params["reach"] == "routes":  # the routes open the ClusterIPs: nothing is patched, nothing restored
        module.deprecate(ROUTES_DEPRECATION, version="0.3.0", collection_name="hostreach.kind")
        results = [(_nodeport_plan.unchanged(service), service) for service, _node_ports in selected]
    else:
        plans = _nodeport_plan.plan_selection(listed, selected, params["state"], api.kubeadm_cluster_configuration)
        results = converge(module, api, plans)
    reach = params["reach"] if params["state"] == "present" else "nodeport"
    nodes = params["state"] == "present" or params["reach"] != "nodeport"
    return _service_phases.urls_and_probes(module, api, listed, results, reach, nodes=nodes, wait=not module.check_mode, diff=module._diff)


def main() -> None:
    module = AnsibleModule(**argument_spec())
    try:
        module.exit_json(**run(module))
    except HostreachError as exc:
        module.fail_json(**failure(exc))


if __name__ == "__main__":
    main()
