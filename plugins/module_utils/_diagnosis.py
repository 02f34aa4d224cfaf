# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why a URL does or does not answer, in a fixed vocabulary, and a one-line hint a user can act on. Pure: no I/O.

The vocabulary (every probe result carries one of these in ``diagnosis``):
  reachable            TCP connected (and for an HTTP URL some HTTP answer came, any status)
  no ready endpoints   no pod is ready behind the Service's port: the network is not the problem; not probed
  refused              the address answered, but nothing listens on the port
  timed out            no answer at all within the connect timeout: packets are dropped on the way
  no route to host     this host has no route to the address
  TLS failure          TCP connected, the TLS handshake of an https URL failed
  HTTP error           TCP connected, but no HTTP answer came (the port speaks something else, or hung up)
  connect failed       any other socket error, given in ``error``
  not routed           a ClusterIP or Pod IP this host has no route to through a kind node, or a load balancer's
                       address (Service status) that is neither a kind node's nor routed through one or the kind
                       network: not probed, so that nothing goes out to an address that is not the cluster's
  name not resolved    a Service's DNS name this host's resolver does not resolve: not probed
  not probed           a UDP or SCTP port: a TCP connect cannot tell whether it answers (reachable is null)
"""

from __future__ import annotations

REACHABLE = "reachable"
NO_READY_ENDPOINTS = "no ready endpoints"
REFUSED = "refused"
TIMED_OUT = "timed out"
NO_ROUTE = "no route to host"
TLS_FAILURE = "TLS failure"
HTTP_ERROR = "HTTP error"
CONNECT_FAILED = "connect failed"
NOT_ROUTED = "not routed"
NAME_NOT_RESOLVED = "name not resolved"
NOT_PROBED = "not probed"
VOCABULARY = (REACHABLE, NO_READY_ENDPOINTS, REFUSED, TIMED_OUT, NO_ROUTE, TLS_FAILURE, HTTP_ERROR, CONNECT_FAILED, NOT_ROUTED, NAME_NOT_RESOLVED, NOT_PROBED)

DOCTOR = "ansible-playbook hostreach.kind.doctor"


def no_endpoints_hint(namespace: str, selector: str | None, not_ready: int) -> str:
    if not_ready:
        return f"{not_ready} endpoint(s) not ready: the pods are starting or failing their readiness probe (kubectl get pods -n {namespace} -l {selector})"
    if selector:
        return f"no pod matches the selector {selector} (kubectl get pods -n {namespace} -l {selector}): scaled to zero, or the labels differ"
    return "the Service has no selector and no endpoints: nothing was registered for it"


def not_tcp_hint(protocol: str) -> str:
    hint = f"a {protocol} port: a TCP probe cannot tell whether it answers, so it was not probed; ask it with its own client"
    return hint + (" (for DNS: dig @<host> -p <port> <name>)" if protocol == "UDP" else "")


def network_hint(diagnosis: str, via: str, tunnel: bool) -> str:
    """What to look at for a failed probe through `via` ('node port', 'cluster IP' or 'load balancer'), from a host that
    reaches the kind network through docker-connector's `tunnel` or directly."""
    dropper = "docker-connector's route or the Docker VM's firewall" if tunnel else "the host's firewall or the kind network's bridge"
    hints = {
        REFUSED: {
            "node port": "the node answered but the connection was refused: kube-proxy has not opened the nodePort"
            " (kubectl -n kube-system get pods), or the pods refuse on the Service's targetPort (does it match the container's port?)",
            "cluster IP": "the connection to the ClusterIP was refused: the pods refuse on the Service's targetPort (does it match the"
            " container's port?), or kube-proxy on the node has no rules for it yet",
        }.get(via, "the address answered but refused the port: check the load balancer (cloud-provider-kind, MetalLB)"),
        TIMED_OUT: f"no answer from the address: {dropper} drops the traffic; {DOCTOR} walks the chain",
        NO_ROUTE: f"this host has no route to the address: {'docker-connector is not routing the network' if tunnel else 'the network is down'}; {DOCTOR}",
        TLS_FAILURE: "TCP connects but the TLS handshake fails: the port may not speak HTTPS (its name or appProtocol says https)",
        HTTP_ERROR: "TCP connects but no HTTP answer comes: the port may not speak HTTP (name it, or set appProtocol, for what it speaks)",
        CONNECT_FAILED: f"the connection failed for another reason (see error); {DOCTOR}",
        NOT_ROUTED: {
            "load balancer": "the Service's status names a load balancer address that is no kind node's and that this host routes"
            " neither through a kind node nor as it routes the nodes (the kind network), so it was not probed: a load balancer"
            " for kind (cloud-provider-kind, MetalLB) takes its addresses from the kind network, which on macOS docker-connector"
            " routes (hostreach.kind.docker_bridge_routes); check the Service's status.loadBalancer.ingress",
        }.get(
            via,
            "this host routes the address through no kind node (it would leave by the default route), so it was not probed: "
            "route the cluster's ranges first (hostreach_kind_reach: routes, or hostreach.kind.kind_cluster_routes)",
        ),
        NAME_NOT_RESOLVED: (
            "this host's resolver does not send the cluster's domain to the cluster's DNS Service: hostreach_kind_dns "
            "(hostreach.kind.kind_cluster_dns; on Linux it needs systemd-resolved), after the routes"
        ),
    }
    return hints.get(diagnosis, "")
