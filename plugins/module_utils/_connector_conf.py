# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse, plan and render docker-connector.conf. Pure: no I/O.

The file is a list of lines. Only `route` lines are ever rewritten; every other line (comments, `addr`,
`port`, `mtu`, `expose <addr>`, unknown words, blank lines, a last line without newline) is kept
byte-for-byte. docker-connector reads a route line as `route <cidr>[ expose]` (it splits the value on
single spaces and looks at the second field for the `expose` flag; what follows is ignored) and routes IPv4 only.

Route lines have an owner: kind_cluster_routes owns those that end in `# hostreach.kind cluster <name>` (a cluster's
Service and Pod ranges); docker_bridge_routes the others (the bridge networks' subnets), of which it removes only those
it added, marked `# hostreach.kind bridge`: an unmarked line is the user's (or from a version before the marker).
docker-connector reads a marked line as a route (the mark is past the fields it looks at).
A plan manages the lines of one owner and keeps every other line, of any other owner, as it is.

docker-connector appends any datagram that begins with byte 0x01 to this file (any local container reaches its
UDP port), so a line may widen what it exposes: `exposure()` says which lines do, `masked()` hides `token` secrets.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
import typing as t

from ansible_collections.hostreach.kind.plugins.module_utils._config_file import ENCODING, ERRORS
from ansible_collections.hostreach.kind.plugins.module_utils._subnets import Network, parse_network

IPV6_REASON = "IPv6 subnet: docker-connector routes IPv4 only"
DEFAULT_ADDR = "192.168.251.1/24"  # docker-connector's own when the file has no addr line
EXPOSE_FLAG = "expose"
OWNER_MARK = "# hostreach.kind cluster "
BRIDGE_MARK = "# hostreach.kind bridge"
SECRET = "********"

_ROUTE_RE = re.compile(r"^[ \t]*route[ \t]+(?P<spec>\S+)(?P<rest>.*)$")
_IPV4_ADDRESS = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_IPV6_CHARS = frozenset("0123456789ABCDEFabcdef:.")
# docker-connector's reader: bufio.Reader.ReadLine (4096-byte buffer: a longer line comes in pieces, each read as a line
# of its own), strings.TrimSpace, then this regexp (Go's \s, \w, \S are ASCII): the directive and its value.
_READ_BUFFER = 4096
_GO_SPACE = "\t\n\f\r "
_DIRECTIVE_RE = re.compile(rf"^[{_GO_SPACE}]*([0-9A-Za-z_]+[^{_GO_SPACE}]+)(?:[{_GO_SPACE}]+(.*))?$")


class Line(t.NamedTuple):
    """One line of the file: `text` without its line ending, `ending` ('\\n', '\\r\\n' or '' for the last)."""

    text: str
    ending: str
    networks: tuple  # the subnets of a route line (empty for every other line)
    exposed: bool
    owner: str | None = None  # the cluster whose line it is (kind_cluster_routes), None for docker_bridge_routes'
    bridge: bool = False  # docker_bridge_routes added it (BRIDGE_MARK): its to remove; unmarked lines are the user's

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
    refused: tuple = ()  # lines removed because they widen what docker-connector exposes (line, text masked, reason)


def split_glued(spec: str) -> tuple:
    """The subnets in a route value, also when several are glued together without a separator.

    `docker network inspect --format "route {{range .IPAM.Config}}{{.Subnet}}{{end}}"` writes a
    dual-stack network as `172.18.0.0/16fc00:f853:ccd:e793::/64`. Returns () when `spec` is not a
    sequence of valid CIDRs. Where a glued split is ambiguous (`10.0.0.0/2110.1.0.0/16`), subnets
    without host bits (as Docker reports them) and then longer prefixes win.

    Linear and without recursion: each place a subnet may start (1 to 3 characters after a `/`) is decided once,
    from the last to the first, by the first choice (strict before not, longer prefix first) whose rest splits.
    """
    whole = parse_network(spec)
    if whole is not None:  # the usual case, one subnet
        return (whole,)
    slashes = [i for i, char in enumerate(spec) if char == "/"]
    starts = {0} | {slash + 1 + digits for slash in slashes for digits in (1, 2, 3) if slash + 1 + digits < len(spec)}
    split: dict = {}  # start -> (its first subnet, where the rest starts, None when it is the last)
    for start in sorted(starts, reverse=True):
        found = _first_subnet(spec, start, slashes, split)
        if found is not None:
            split[start] = found
    networks, start = [], 0 if 0 in split else None
    while start is not None:
        network, start = split[start]
        networks.append(network)
    return tuple(networks)


def _first_subnet(spec: str, start: int, slashes: list, split: dict) -> tuple | None:
    """The first subnet of `spec[start:]` and where the rest starts, given `split` for every later start."""
    index = bisect.bisect_left(slashes, start)
    if index == len(slashes):
        return None
    if index == len(slashes) - 1:  # one `/` left: only then may the rest be a single CIDR
        whole = parse_network(spec[start:])
        if whole is not None:
            return whole, None
    slash = slashes[index]
    address = spec[start:slash]
    if not (_IPV4_ADDRESS.fullmatch(address) or (":" in address and _IPV6_CHARS.issuperset(address))):
        return None
    for strict in (True, False):
        for end in (slash + 4, slash + 3, slash + 2):
            if end in split and spec[slash + 1 : end].isdigit():
                first = parse_network(spec[start:end], strict)
                if first is not None:
                    return first, end
    return None


def _parse_line(text: str, ending: str) -> Line:
    match = _ROUTE_RE.match(text)
    if match is None:
        return Line(text, ending, (), False)
    networks = split_glued(match.group("spec"))
    rest = match.group("rest")
    exposed = rest.startswith(" " + EXPOSE_FLAG) and rest[1:].split(" ", 1)[0] == EXPOSE_FLAG
    owner = rest.split(OWNER_MARK, 1)[1].strip() or None if OWNER_MARK in rest else None
    return Line(text, ending, networks, exposed, owner, owner is None and rest.rstrip().endswith(" " + BRIDGE_MARK))


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


def _directives(line: Line) -> list:
    """(offset in the line's bytes, directive, value) of each piece docker-connector reads of `line` as a line."""
    data = (line.text + line.ending).encode(ENCODING, ERRORS)
    pieces, offset = [], 0
    while len(data) - offset > _READ_BUFFER:  # ReadLine hands out a full buffer, backing up over a final \r
        cut = offset + _READ_BUFFER - (data[offset + _READ_BUFFER - 1] == ord("\r"))
        pieces.append((offset, data[offset:cut]))
        offset = cut
    pieces.append((offset, data[offset:].removesuffix(b"\n").removesuffix(b"\r")))
    found = []
    for start, piece in pieces:
        match = _DIRECTIVE_RE.match(piece.decode(ENCODING, "replace").strip())
        if match:
            found.append((start, match.group(1), match.group(2) or ""))
    return found


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure(line: Line) -> str:
    """Why docker-connector, reading `line`, would listen beyond 127.0.0.1 or let others into its tunnel ('' when not):
    `host` other than loopback, `expose <address>` (docker-accessor's listener), `token` (its credentials)."""
    reasons = []
    for _start, word, value in _directives(line):
        if word == "host" and not _is_loopback(value):
            reasons.append(f"`host {value}` makes docker-connector listen beyond 127.0.0.1")
        elif word == EXPOSE_FLAG:
            reasons.append("`expose` opens a listener that lets docker-accessor clients into the tunnel")
        elif word == "token":
            reasons.append("`token` gives a docker-accessor client a way into the tunnel")
    return "; ".join(reasons)


def masked(text: str) -> str:
    """`text` with the value of every `token` directive (a docker-accessor secret) replaced by ********."""
    lines = parse(text)
    for index, line in enumerate(lines):
        tokens = [start for start, word, _value in _directives(line) if word == "token"]
        if tokens:
            kept = line.text.encode(ENCODING, ERRORS)[: tokens[0]].decode(ENCODING, ERRORS)
            lines[index] = line._replace(text=f"{kept}token {SECRET}")
    return render(lines)


def route_text(network: Network, exposed: bool, mark: str = "") -> str:
    """A route line as docker-connector reads it (`route <cidr>[ expose]`), with the owner's mark (see mark())."""
    text = f"route {network} {EXPOSE_FLAG}" if exposed else f"route {network}"
    return f"{text} {mark}" if mark else text


def mark(owner: str | None, bridge: bool) -> str:
    """The comment that says whose a route line is: a cluster's, docker_bridge_routes', or none (the user's)."""
    return f"{OWNER_MARK}{owner}" if owner else BRIDGE_MARK if bridge else ""


def _newline(lines: list) -> str:
    return next((line.ending for line in lines if line.ending), "\n")


def plan(
    lines: list,
    wanted: list,
    unwanted: t.Iterable = (),
    keep: t.Optional[t.Iterable] = None,
    expose: t.Optional[bool] = None,
    owner: t.Optional[str] = None,
    refuse_exposure: bool = False,
) -> Plan:
    """The new file text and what changed, from one comparison of the current lines with the wanted state.

    wanted   IPv4 subnets that must have a route line (appended in this order when missing).
    unwanted IPv4 subnets whose route lines must go (state=absent).
    keep     when given (prune=true): route lines for IPv4 subnets outside this set go too.
    expose   True/False sets/clears the `expose` flag on the lines of `wanted`; None leaves it as found.
    owner    whose route lines these are (None: docker_bridge_routes'); the lines of other owners are kept as they are.
             Only marked lines go (unwanted, keep): a cluster's, or docker_bridge_routes' own (BRIDGE_MARK, which every
             line it appends carries); an unmarked line is the user's and stays.
    refuse_exposure  lines that widen what docker-connector exposes (exposure()) go, reported in `refused`.

    Equal subnets written differently (`172.18.0.1/16`, extra spaces) count as present and are left
    as written; later duplicates of a subnet among the user's lines, or among the marked ones, are dropped; glued
    lines are split into one line per IPv4 subnet (keeping their mark) with their IPv6 subnets reported in `skipped`.
    """
    unwanted = set(unwanted)
    keep = None if keep is None else set(keep)
    rule = _Rule(set(wanted), lambda n: n in unwanted or (keep is not None and n not in keep), expose, owner, _newline(lines), refuse_exposure)
    changes = Plan("", [], [], [], [], [])  # its lists filled line by line, its text set at the end
    seen: set = set()  # (marked, subnet): the user's lines and the marked ones are deduplicated apart
    out: list = []
    for number, line in enumerate(lines, start=1):
        out.extend(_rewrite(line, number, seen, rule, changes))
    missing = [n for n in wanted if (False, n) not in seen and (True, n) not in seen]
    if missing and out and not out[-1].ending:
        out[-1] = out[-1]._replace(ending=rule.newline)
    for network in missing:
        seen.add((True, network))
        changes.added.append(str(network))
        out.append(Line(route_text(network, bool(expose), mark(owner, True)), rule.newline, (network,), bool(expose), owner, owner is None))
    return changes._replace(text=render(out), refused=tuple(changes.refused))


class _Rule(t.NamedTuple):
    """What plan() was asked, for each line it rewrites."""

    wanted: set
    goes: t.Callable
    expose: t.Optional[bool]
    owner: t.Optional[str]
    newline: str
    refuse_exposure: bool


def _rewrite(line: Line, number: int, seen: set, rule: _Rule, changes: Plan) -> list:
    """The lines that stand for `line` in the new file: itself when nothing about it changes, else one line per IPv4
    subnet it keeps (none when every subnet goes or came earlier in the file, or the line is refused). `seen` gains its
    subnets."""
    refusal = exposure(line) if rule.refuse_exposure else ""
    if refusal:
        changes.refused.append({"line": number, "text": masked(line.text), "reason": refusal})
        return []
    if not (line.ipv4 or line.needs_repair) or line.owner != rule.owner:
        return [line]
    changes.skipped.extend({"subnet": str(n), "line": number, "reason": IPV6_REASON} for n in line.networks if n.version == 6)
    marked = line.bridge or line.owner is not None
    fresh = []
    for network in line.ipv4:
        if (marked, network) not in seen:
            seen.add((marked, network))
            fresh.append(network)
    kept = [n for n in fresh if not (marked and rule.goes(n))]
    changes.removed.extend(str(n) for n in fresh if marked and rule.goes(n))
    flag = rule.expose if rule.expose is not None and any(n in rule.wanted for n in kept) else line.exposed
    if not line.needs_repair and kept == line.ipv4 and flag == line.exposed:
        return [line]
    new = [Line(route_text(n, flag, mark(rule.owner, line.bridge)), rule.newline, (n,), flag, rule.owner, line.bridge) for n in kept]
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
