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


def node_addresses(nodes: list) -> dict:
    """Node name -> InternalIP, preferring IPv4 (docker-connector routes IPv4 only)."""
    result = {}
    for node in nodes:
        ips = [a["address"] for a in (node.get("status") or {}).get("addresses") or [] if a.get("type") == "InternalIP"]
        ips.sort(key=lambda ip: ipaddress.ip_address(ip).version)
        if ips:
            result[node["metadata"]["name"]] = ips[0]
    return result
