# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse, plan and render docker-connector.conf. Pure: no I/O.

The file is a list of lines. Only `route` lines are ever rewritten; every other line (comments, `addr`,
`port`, `mtu`, `expose <addr>`, unknown words, blank lines, a last line without newline) is kept
byte-for-byte. docker-connector reads a route line as `route <cidr>[ expose]` (it splits the value on
single spaces and looks at the second field for the `expose` flag; what follows is ignored) and routes IPv4 only.

Route lines have an owner: docker_bridge_routes owns the plain ones (the bridge networks' subnets);
kind_cluster_routes owns those that end in `# hostreach.kind cluster <name>` (a cluster's Service and Pod ranges).
A plan manages the lines of one owner and keeps every other line, of any other owner, as it is.
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.hostreach.kind.plugins.module_utils._subnets import Network, parse_network

IPV6_REASON = "IPv6 subnet: docker-connector routes IPv4 only"
DEFAULT_ADDR = "192.168.251.1/24"  # docker-connector's own when the file has no addr line
EXPOSE_FLAG = "expose"
OWNER_MARK = "# hostreach.kind cluster "

_ROUTE_RE = re.compile(r"^[ \t]*route[ \t]+(?P<spec>\S+)(?P<rest>.*)$")
_IPV4_HEAD = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}/")
_IPV6_HEAD = re.compile(r"[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*/")


class Line(t.NamedTuple):
    """One line of the file: `text` without its line ending, `ending` ('\\n', '\\r\\n' or '' for the last)."""

    text: str
    ending: str
    networks: tuple  # the subnets of a route line (empty for every other line)
    exposed: bool
    owner: str | None = None  # the cluster whose line it is (kind_cluster_routes), None for docker_bridge_routes'

    @property
    def ipv4(self) -> list:
        return [n for n in self.networks if n.version == 4]

    @property
    def needs_repair(self) -> bool:
        """Glued subnets (`route 172.18.0.0/16fc00:f853:ccd:e793::/64`) or IPv6 next to IPv4."""
        return len(self.networks) > 1


class Plan(t.NamedTuple):
    text: str
    added: list
    removed: list
    repaired: list
    skipped: list


def split_glued(spec: str) -> tuple:
    """The subnets in a route value, also when several are glued together without a separator.

    `docker network inspect --format "route {{range .IPAM.Config}}{{.Subnet}}{{end}}"` writes a
    dual-stack network as `172.18.0.0/16fc00:f853:ccd:e793::/64`. Returns () when `spec` is not a
    sequence of valid CIDRs. Where a glued split is ambiguous (`10.0.0.0/2110.1.0.0/16`), subnets
    without host bits (as Docker reports them) and then longer prefixes win.
    """
    whole = parse_network(spec)
    if whole is not None or not spec:
        return (whole,) if whole is not None else ()
    head = _IPV4_HEAD.match(spec) or _IPV6_HEAD.match(spec)
    if head is None:
        return ()
    for strict in (True, False):
        for end in range(head.end() + 3, head.end(), -1):
            first = parse_network(spec[:end], strict) if spec[head.end() : end].isdigit() else None
            rest = split_glued(spec[end:]) if first is not None else ()
            if rest:
                return (first, *rest)
    return ()


def _parse_line(text: str, ending: str) -> Line:
    match = _ROUTE_RE.match(text)
    if match is None:
        return Line(text, ending, (), False)
    networks = split_glued(match.group("spec"))
    rest = match.group("rest")
    exposed = rest.startswith(" " + EXPOSE_FLAG) and rest[1:].split(" ", 1)[0] == EXPOSE_FLAG
    owner = rest.split(OWNER_MARK, 1)[1].strip() or None if OWNER_MARK in rest else None
    return Line(text, ending, networks, exposed, owner)


def parse(text: str) -> list:
    """Lines of the file; `render(parse(text)) == text` for every text."""
    lines = []
    for chunk in _split_lines(text):
        if chunk.endswith("\r\n"):
            lines.append(_parse_line(chunk[:-2], "\r\n"))
        elif chunk.endswith("\n"):
            lines.append(_parse_line(chunk[:-1], "\n"))
        else:
            lines.append(_parse_line(chunk, ""))
    return lines


def _split_lines(text: str) -> list:
    """Split on '\\n' only (as docker-connector's reader does), keeping each line's ending."""
    chunks = [part + "\n" for part in text.split("\n")]
    chunks[-1] = chunks[-1][:-1]
    return [c for c in chunks if c]


def render(lines: list) -> str:
    return "".join(line.text + line.ending for line in lines)


def routes(lines: list) -> list:
    """IPv4 subnets of the route lines, in file order, without repeats."""
    seen: dict = {}  # insertion-ordered: membership in constant time, file order kept
    for line in lines:
        for network in line.ipv4:
            seen.setdefault(network, None)
    return list(seen)


def tunnel_gateway(lines: list) -> str:
    """The address docker-connector routes every `route` line through on the host: the IP of the last `addr` line,
    else of its default (it adds `route -n add -net <cidr> <addr IP>`)."""
    addrs = [line.text.split()[1] for line in lines if len(line.text.split()) > 1 and line.text.split()[0] == "addr"]
    return (addrs[-1] if addrs else DEFAULT_ADDR).split("/")[0]


def stale_host_routes(host_routes: list, gateway: str, file_routes: list) -> list:
    """Subnets the host still routes through the tunnel's gateway that the file no longer has: docker-connector only
    drops them when it reloads, and an atomic replace of the file may not make it reload; a restart does."""
    wanted = set(file_routes)
    return [str(r.network) for r in host_routes if r.gateway == gateway and r.network.prefixlen > 0 and r.network not in wanted]


def route_text(network: Network, exposed: bool, owner: str | None = None) -> str:
    text = f"route {network} {EXPOSE_FLAG}" if exposed else f"route {network}"
    return f"{text} {OWNER_MARK}{owner}" if owner else text


def _newline(lines: list) -> str:
    return next((line.ending for line in lines if line.ending), "\n")


def plan(
    lines: list,
    wanted: list,
    unwanted: t.Iterable = (),
    keep: t.Optional[t.Iterable] = None,
    expose: t.Optional[bool] = None,
    owner: t.Optional[str] = None,
) -> Plan:
    """The new file text and what changed, from one comparison of the current lines with the wanted state.

    wanted   IPv4 subnets that must have a route line (appended in this order when missing).
    unwanted IPv4 subnets whose route lines must go (state=absent).
    keep     when given (prune=true): route lines for IPv4 subnets outside this set go too.
    expose   True/False sets/clears the `expose` flag on the lines of `wanted`; None leaves it as found.
    owner    whose route lines these are (None: docker_bridge_routes'); the lines of other owners are kept as they are.

    Equal subnets written differently (`172.18.0.1/16`, extra spaces) count as present and are left
    as written; later duplicates of a subnet are dropped; glued lines are split into one line per
    IPv4 subnet with their IPv6 subnets reported in `skipped`.
    """
    unwanted = set(unwanted)
    keep = None if keep is None else set(keep)
    rule = _Rule(set(wanted), lambda n: n in unwanted or (keep is not None and n not in keep), expose, owner, _newline(lines))
    changes = Plan("", [], [], [], [])  # its lists filled line by line, its text set at the end
    seen: set = set()
    out: list = []
    for number, line in enumerate(lines, start=1):
        out.extend(_rewrite(line, number, seen, rule, changes))
    missing = [n for n in wanted if n not in seen]
    if missing and out and not out[-1].ending:
        out[-1] = out[-1]._replace(ending=rule.newline)
    for network in missing:
        seen.add(network)
        changes.added.append(str(network))
        out.append(Line(route_text(network, bool(expose), owner), rule.newline, (network,), bool(expose), owner))
    return changes._replace(text=render(out))


class _Rule(t.NamedTuple):
    """What plan() was asked, for each line it rewrites."""

    wanted: set
    goes: t.Callable
    expose: t.Optional[bool]
    owner: t.Optional[str]
    newline: str


def _rewrite(line: Line, number: int, seen: set, rule: _Rule, changes: Plan) -> list:
    """The lines that stand for `line` in the new file: itself when nothing about it changes, else one line per IPv4
    subnet it keeps (none when every subnet goes or came earlier in the file). `seen` gains its subnets."""
    if not (line.ipv4 or line.needs_repair) or line.owner != rule.owner:
        return [line]
    changes.skipped.extend({"subnet": str(n), "line": number, "reason": IPV6_REASON} for n in line.networks if n.version == 6)
    fresh = []
    for network in line.ipv4:
        if network not in seen:
            seen.add(network)
            fresh.append(network)
    kept = [n for n in fresh if not rule.goes(n)]
    changes.removed.extend(str(n) for n in fresh if rule.goes(n))
    flag = rule.expose if rule.expose is not None and any(n in rule.wanted for n in kept) else line.exposed
    if not line.needs_repair and kept == line.ipv4 and flag == line.exposed:
        return [line]
    new = [Line(route_text(n, flag, rule.owner), rule.newline, (n,), flag, rule.owner) for n in kept]
    reason = _repair_reason(line, len(fresh) < len(line.ipv4), flag)
    if reason:
        changes.repaired.append({"line": number, "before": line.text, "after": [x.text for x in new], "reason": reason})
    if new and not line.ending:
        new[-1] = new[-1]._replace(ending="")
    return new


def _repair_reason(line: Line, duplicate: bool, flag: bool) -> str:
    """Why a line was rewritten without changing which subnets are routed ('' for a plain removal)."""
    if line.needs_repair:
        return "glued subnets split into one route line per IPv4 subnet"
    if duplicate:
        return "duplicate of an earlier route line"
    if flag != line.exposed:
        return "expose flag %s" % ("added" if flag else "removed")
    return ""
