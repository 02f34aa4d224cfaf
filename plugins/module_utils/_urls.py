# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The URLs that open a Service from the host: node addresses, the scheme a port evidently speaks, and the URL
text. Another scheme or another kind of address goes here. Pure: no I/O."""

from __future__ import annotations

import ipaddress

_HTTP_APP_PROTOCOLS = {"http": "http", "https": "https", "kubernetes.io/h2c": "http", "kubernetes.io/ws": "http", "kubernetes.io/wss": "https"}

_HTTP_NAMES = {"http": "http", "web": "http", "www": "http", "http2": "http", "h2c": "http", "http-alt": "http", "https": "https"}

_HTTP_PORTS = {80: "http", 8000: "http", 8080: "http", 443: "https", 8443: "https"}


def port_scheme(port: dict) -> str | None:
    """'http' or 'https' when the port is evidently HTTP (appProtocol, then name, then number), else None."""
    if port.get("protocol", "TCP") != "TCP":
        return None
    app = (port.get("appProtocol") or "").lower()
    if app:
        return _HTTP_APP_PROTOCOLS.get(app)
    name = (port.get("name") or "").lower()
    if name in _HTTP_NAMES:
        return _HTTP_NAMES[name]
    for prefix in ("https-", "http-"):
        if name.startswith(prefix) or name.endswith("-" + prefix[:-1]):
            return prefix[:-1]
    return _HTTP_PORTS.get(port.get("port"))


def url(ip: str, node_port: int, scheme: str | None) -> str:
    host = f"[{ip}]" if ":" in ip else ip
    address = f"{host}:{node_port}"
    return f"{scheme}://{address}" if scheme else address


def port_urls(port: dict, node_ips: list) -> list:
    if not port.get("nodePort"):
        return []
    scheme = port_scheme(port)
    return list(dict.fromkeys(url(ip, port["nodePort"], scheme) for ip in node_ips))  # two nodes may share an address


def ingress_addresses(service: dict) -> list:
    """The addresses a LoadBalancer Service's status gives (cloud-provider-kind and MetalLB set an IP on kind's network)."""
    if (service.get("spec") or {}).get("type") != "LoadBalancer":
        return []
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return [i.get("ip") or i.get("hostname") for i in ingress if i.get("ip") or i.get("hostname")]


def ingress_urls(port: dict, addresses: list) -> list:
    """A LoadBalancer answers on the Service port itself, not on the nodePort."""
    scheme = port_scheme(port)
    return [url(address, port["port"], scheme) for address in addresses if port.get("port")]


def cluster_ips(service: dict) -> list:
    """The Service's IPv4 ClusterIP(s); none for a headless or ExternalName Service."""
    spec = service.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return []
    return [ip for ip in spec.get("clusterIPs") or [spec.get("clusterIP")] if ip and ip != "None" and ":" not in ip]


def cluster_ip_port_urls(port: dict, ips: list) -> list:
    """A port's URLs at the Service's ClusterIP(s): what the cluster's routes open from the host."""
    return [url(ip, port["port"], port_scheme(port)) for ip in ips if port.get("port")]


def service_name(service: dict, domain: str) -> str:
    """The Service's DNS name in the cluster's domain: <name>.<namespace>.svc.<domain>."""
    meta = service.get("metadata") or {}
    return f"{meta.get('name')}.{meta.get('namespace')}.svc.{domain}"


def cluster_ip_urls(service: dict) -> list:
    ips = cluster_ips(service)
    return [u for port in (service.get("spec") or {}).get("ports") or [] for u in cluster_ip_port_urls(port, ips)]


FAMILIES = {"IPv4": 4, "IPv6": 6}


def parse_ip(text: object) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address `text` spells, or None: a value read from the cluster that is no plain IP address (a name,
    garbage, a number, an IPv6 address with a %zone) must not become a URL."""
    if not isinstance(text, str):
        return None
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    return None if getattr(ip, "scope_id", None) else ip


def node_internal_ips(nodes: list) -> tuple:
    """(node name -> its InternalIPs, IPv4 first; warnings). An InternalIP that is not an IP address is skipped with a
    warning naming the node: a Node object is input, and such a value cannot be a URL."""
    addresses, warnings = {}, []
    for node in nodes:
        name = (node.get("metadata") or {}).get("name")
        ips = []
        for entry in (node.get("status") or {}).get("addresses") or []:
            if entry.get("type") != "InternalIP":
                continue
            ip = parse_ip(entry.get("address"))
            if ip is None:
                warnings.append(f"node {name!r}: its InternalIP {entry.get('address')!r} is not an IP address; skipped (no URL uses it)")
            else:
                ips.append(ip)
        if ips:
            addresses[name] = [str(ip) for ip in sorted(ips, key=lambda ip: ip.version)]
    return addresses, warnings


def preferred(addresses: dict) -> dict:
    """Node name -> one InternalIP, IPv4 preferred (docker-connector routes IPv4 only): kind_nodeport's `nodes`."""
    return {name: ips[0] for name, ips in addresses.items()}


def ip_families(service: dict) -> list:
    """The Service's IP families as versions, 4 and/or 6, in its order (spec.ipFamilies; none given = IPv4, as before
    dual-stack)."""
    families = (service.get("spec") or {}).get("ipFamilies") or ["IPv4"]
    return [FAMILIES[family] for family in families if family in FAMILIES]


def family_node_ips(addresses: dict, families: list) -> list:
    """One address per node (by name) of the Service's `families`, IPv4 preferred: kube-proxy serves a Service's
    nodePorts only on the node addresses of the Service's own families."""
    ips = []
    for name in sorted(addresses):
        ips += [ip for ip in addresses[name] if ipaddress.ip_address(ip).version in families][:1]
    return ips
