# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The root steps of a plan made as the user, checked before root runs them (issue 18, item 9).

kind_cluster_routes and kind_cluster_dns read the cluster and plan as the play's user (apply=false); the roles then run
only the commands or the file change the plan names, as root. What a module running as the user returns is input to
those root steps: each filter here lets through exactly the shape the module makes (rebuilt from ipaddress objects and
the domain rule) and fails naming the value otherwise, so that nothing else ever runs as root. Pure functions, one call
each from roles/cluster_routes/tasks/cluster.yml and roles/cluster_dns/tasks/resolver.yml.
Documentation: ip_route_commands.yml, resolvectl_commands.yml and resolver_file_change.yml beside this file.
"""

from __future__ import annotations

import ipaddress
import os
import re
import typing as t

from ansible.errors import AnsibleFilterError
from ansible_collections.hostreach.kind.plugins.module_utils._cluster_dns import DOMAIN, MARKER, resolver_file
from ansible_collections.hostreach.kind.plugins.module_utils._host_routes import PROTO
from ansible_collections.hostreach.kind.plugins.module_utils._k8s_names import cluster_name_problem

ROUTE_VERBS = ("replace", "del")
LINK = re.compile(r"[A-Za-z0-9_.:@-]{1,15}")  # a Linux interface name (IFNAMSIZ - 1), no '/' and no space
_NAMESERVER_LINE = re.compile(r"^nameserver (?P<address>\S+)$", re.MULTILINE)


def _refuse(what: str, value: object, expected: str) -> AnsibleFilterError:
    return AnsibleFilterError(f"refusing to run as root {what} {value!r}: it is not {expected}; nothing was changed")


def _is(kind: t.Callable, text: object) -> bool:
    """Whether ``text`` is a string that ``kind`` (an ipaddress class or ip_address) gives back unchanged."""
    try:
        return isinstance(text, str) and str(kind(text)) == text
    except ValueError:
        return False


def ip_route_commands(commands: object) -> list:
    """``commands`` (kind_cluster_routes' RV(commands)) when each is `ip route replace|del <IPv4 network> via <IPv4
    address> proto 119`, as the module writes it; AnsibleFilterError naming the first other one."""
    expected = f"`ip route {'|'.join(ROUTE_VERBS)} <IPv4 network> via <IPv4 address> proto {PROTO}`"
    for argv in commands or []:
        words = list(argv) if isinstance(argv, list) else None
        ok = words is not None and len(words) == 8 and words[:2] == ["ip", "route"] and words[2] in ROUTE_VERBS
        ok = ok and _is(ipaddress.IPv4Network, words[3]) and words[4] == "via" and _is(ipaddress.IPv4Address, words[5])
        if not (ok and words[6:] == ["proto", PROTO]):
            raise _refuse("the command", argv, expected)
    return list(commands or [])


def _resolvectl_ok(words: list) -> bool:
    if len(words) < 3 or words[0] != "resolvectl" or not (isinstance(words[2], str) and LINK.fullmatch(words[2])):
        return False
    verb, rest = words[1], words[3:]
    if verb == "dns":
        return len(rest) == 1 and _is(ipaddress.ip_address, rest[0])
    if verb == "domain":
        return len(rest) == 1 and isinstance(rest[0], str) and rest[0].startswith("~") and bool(DOMAIN.fullmatch(rest[0][1:]))
    return verb == "revert" and not rest


def resolvectl_commands(commands: object) -> list:
    """``commands`` (kind_cluster_dns' RV(commands)) when each is `resolvectl dns <link> <address>`, `resolvectl domain
    <link> ~<domain>` or `resolvectl revert <link>`; AnsibleFilterError naming the first other one."""
    expected = "`resolvectl dns <link> <address>`, `resolvectl domain <link> ~<domain>` or `resolvectl revert <link>`"
    for argv in commands or []:
        if not (isinstance(argv, list) and _resolvectl_ok(argv)):
            raise _refuse("the command", argv, expected)
    return list(commands or [])


def resolver_file_change(result: dict, resolver_dir: str) -> dict:
    """{path, content} of kind_cluster_dns' macOS result when the path is ``resolver_dir``/<domain> and the content is
    None (remove) or exactly the file the module writes for that cluster, domain and an IP nameserver; AnsibleFilterError
    otherwise."""
    path, content, cluster = result.get("path"), result.get("content"), result.get("item")
    folder, domain = os.path.split(path) if isinstance(path, str) else ("", "")
    if os.path.normpath(folder) != os.path.normpath(resolver_dir) or not DOMAIN.fullmatch(domain):
        raise _refuse("a change of the resolver file", path, f"a domain's file in {resolver_dir}")
    if content is None:
        return {"path": path, "content": None}
    line = _NAMESERVER_LINE.search(content) if isinstance(content, str) else None
    nameserver = line.group("address") if line else ""
    valid = cluster_name_problem(cluster) is None and _is(ipaddress.ip_address, nameserver)
    if not (valid and content == resolver_file(cluster, domain, nameserver)):
        raise _refuse(f"the content for {path}:", content, f"the resolver file hostreach.kind writes ({MARKER.strip()} ...)")
    return {"path": path, "content": content}


class FilterModule:
    """hostreach.kind.ip_route_commands, hostreach.kind.resolvectl_commands, hostreach.kind.resolver_file_change"""

    def filters(self) -> dict:
        return {"ip_route_commands": ip_route_commands, "resolvectl_commands": resolvectl_commands, "resolver_file_change": resolver_file_change}
