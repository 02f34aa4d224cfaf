# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the Docker VM's firewall does to traffic from docker-connector's tunnel, and the rules that let it in.
Pure: the firewall is read as text (iptables-save, nft list) and changed by commands this file writes.

Measured on real engines (tests/integration/vm): dockerd sets the FORWARD policy to DROP, so forwarded traffic
from the tunnel to an unpublished container port is dropped unless DOCKER-USER accepts it; Docker Engine 28+
also drops, in the raw table's PREROUTING, every packet for a container's address that does not come from the
container's own bridge ("direct routing"), so that needs an ACCEPT before those drops too. With the nftables
backend (Engine 29 `firewall-backend: nftables`) the same drops live in the engine's own table
`ip docker-bridges`, which the engine rebuilds on every restart. The rules are decided from what the firewall
holds, never from the engine's version: a raw ACCEPT is only added where the engine put raw drops.

Our rules carry the marker comment COMMENT in both backends and accept the tunnel's peer address only when it comes in
through the tunnel's interface (a container that spoofs the peer's address arrives on its bridge and is not let in).
A chain holds our rule when its one marked rule is exactly the wanted one (peer, interface and marker together); any
other marked rule (an older peer or interface) is stale and goes, and `absent` removes every marked rule, whatever it
names. Every value that goes into a command is parsed first and every command is shell-quoted.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
import typing as t

from ansible_collections.hostreach.kind.plugins.module_utils._errors import InputError, PlanError

COMMENT = "hostreach.kind-tunnel"
NFT_TABLE = "docker-bridges"
NFT_CHAINS = ("raw-PREROUTING", "filter-FORWARD")
IPTABLES = ("iptables-nft", "iptables-legacy")  # tried in this order; Docker uses whichever `iptables` is
# docker-connector's VM side opens a TUN device without a name, so the kernel calls it tun<N> (the first free N):
# iptables' trailing `+` (nftables' `*`) matches any of them.
DEFAULT_INTERFACE = "tun+"
IFNAMSIZ = 16  # the kernel's limit, with the terminating NUL: at most 15 characters

# The script the tool container runs to read the firewall: each section starts with `### <name>` and ends
# with `### rc <exit code>` (or `### missing` when the image lacks the command).
GATHER_SCRIPT = """
for tool in iptables-nft iptables-legacy; do
  echo "### $tool"
  if command -v "$tool-save" >/dev/null 2>&1; then "$tool-save" 2>&1; echo "### rc $?"; else echo "### missing"; fi
done
echo "### nft"
if command -v nft >/dev/null 2>&1; then nft -a list table ip docker-bridges 2>&1; echo "### rc $?"; else echo "### missing"; fi
"""

_SECTION = re.compile(r"^### (\S+)$")
_DOCKER_RAW_DROP = re.compile(r"^-A PREROUTING -d \S+ ! -i \S+ -j DROP$")
_NFT_HANDLE = re.compile(r"# handle (\d+)\s*$")
_NFT_COUNTER = re.compile(r" counter packets \d+ bytes \d+")
_IFNAME = re.compile(r"[A-Za-z0-9_.-]+\+?")
# The rules this module writes (and wrote before it matched the interface), as iptables-save prints them unquoted.
_IPTABLES_OURS = re.compile(rf"^-A (?P<chain>\S+) -s (?P<peer>[0-9.]+)/32(?: -i (?P<interface>\S+))? -m comment --comment {re.escape(COMMENT)} -j ACCEPT$")
_IPTABLES_MARK = re.compile(rf"(^| )--comment {re.escape(COMMENT)}( |$)")


class Tunnel(t.NamedTuple):
    """Where the tunnel's traffic comes from: the Mac's address in it, and the VM's interface it enters on."""

    peer: ipaddress.IPv4Address
    interface: str  # a trailing `+` matches every interface whose name starts with the rest (iptables' spelling)


class Rule(t.NamedTuple):
    """One rule of ours, where it goes, why it is needed, and whether it is in place."""

    where: str  # e.g. "iptables-nft filter DOCKER-USER" or "nftables ip docker-bridges raw-PREROUTING"
    why: str
    present: bool
    add: str  # the command that adds it
    remove: list  # the commands that remove every rule of ours there (the wanted one included)


class Firewall(t.NamedTuple):
    backend: str  # iptables-nft, iptables-legacy, nftables, or none (the engine manages no firewall)
    rules: list
    missing_tools: list


def check_interface(name: str) -> str:
    """`name` when it is a network interface name (at most 15 characters, no `/`, whitespace or quotes; a trailing `+`
    for any interface that starts with the rest); InputError otherwise."""
    if len(name) >= IFNAMSIZ or not _IFNAME.fullmatch(name) or name.rstrip("+") in ("", ".", ".."):
        raise InputError(
            f"tunnel_interface {name!r} is not a network interface name: at most {IFNAMSIZ - 1} characters of letters, digits, "
            "'_', '.' and '-', optionally ending in '+' for every interface whose name starts with the rest (docker-connector's "
            f"container names its TUN device tun<N>: {DEFAULT_INTERFACE}); nothing was changed"
        )
    return name


def tunnel(peer: str, interface: str) -> Tunnel:
    """The checked options: the peer parsed as an IPv4 address, the interface as an interface name."""
    try:
        address = ipaddress.IPv4Address(peer)
    except ValueError:
        raise InputError(f"tunnel_peer {peer!r} is not an IPv4 address (docker-connector's tunnel is IPv4, like 192.168.251.2); nothing was changed") from None
    return Tunnel(address, check_interface(interface))


def sections(output: str) -> tuple:
    """({name: text of each section the gather script printed, None where the command failed}, the commands the image
    lacks)."""
    found: dict = {}
    missing: list = []
    name, lines = None, []
    for line in output.splitlines():
        if line == "### missing":
            missing.append(name)
            found[name], name = None, None
        elif line.startswith("### rc "):
            found[name] = "\n".join(lines) if line == "### rc 0" else None
            name = None
        elif _SECTION.match(line):
            name, lines = line[4:], []
        elif name:
            lines.append(line)
    return found, missing


def iptables_tables(text: str) -> dict:
    """iptables-save text -> {table: {"policies": {chain: policy}, "rules": [rule lines]}}."""
    tables: dict = {}
    current = None
    for line in text.splitlines():
        if line.startswith("*"):
            current = tables.setdefault(line[1:], {"policies": {}, "rules": []})
        elif current is not None and line.startswith(":"):
            chain, policy = line[1:].split()[:2]
            current["policies"][chain] = policy
        elif current is not None and line.startswith("-A "):
            current["rules"].append(line.strip().replace('"', ""))  # iptables-save quotes comments; the rules here do not
    return tables


def _iptables_spec(peer: ipaddress.IPv4Address, interface: str | None) -> list:
    """The match and target of our rule (without the interface: the form this module wrote before it matched it)."""
    return ["-s", f"{peer}/32", *(["-i", interface] if interface else []), "-m", "comment", "--comment", COMMENT, "-j", "ACCEPT"]


def _iptables_removal(where: str, chain: str, rule: str) -> list:
    """The match and target of a marked rule of `chain`, rebuilt from its parsed peer and interface; PlanError for a
    marked rule this module does not write (it is not removed blindly)."""
    match = _IPTABLES_OURS.match(rule)
    try:
        if not match or match["chain"] != chain:
            raise ValueError(rule)
        return _iptables_spec(ipaddress.IPv4Address(match["peer"]), match["interface"] and check_interface(match["interface"]))
    except (ValueError, InputError):
        raise PlanError(
            f"{where} has a rule with hostreach.kind's marker {COMMENT!r} that it does not write: {rule!r}; "
            "remove it by hand (iptables -t <table> -D <chain> <its number>) and run again; nothing was changed"
        ) from None


def _iptables_rule(tool: str, table: str, chain: str, rules: list, wanted: Tunnel, why: str, before: t.Callable) -> Rule:
    """Our ACCEPT for the tunnel in `table` `chain`; in place when it is the chain's only marked rule and comes before
    the first rule `before` matches."""
    where = f"{tool} {table} {chain}"
    spec = _iptables_spec(wanted.peer, wanted.interface)
    rules = [rule for rule in rules if rule.startswith(f"-A {chain} ")]
    marked = [i for i, rule in enumerate(rules) if _IPTABLES_MARK.search(rule)]
    blockers = [i for i, rule in enumerate(rules) if before(rule) and i not in marked]
    ours = len(marked) == 1 and rules[marked[0]] == " ".join(["-A", chain, *spec])
    present = ours and (not blockers or marked[0] < blockers[0])  # one copy, the wanted one, ahead of the drops
    remove = [shlex.join([tool, "-t", table, "-D", chain, *_iptables_removal(where, chain, rules[i])]) for i in marked]
    return Rule(where, why, present, shlex.join([tool, "-t", table, "-I", chain, "1", *spec]), remove)


def iptables_rules(tool: str, tables: dict, wanted: Tunnel) -> list:
    """Our rules for an engine whose chains are in `tool`'s tables."""
    rules = []
    filter_table = tables.get("filter", {"policies": {}, "rules": []})
    if "DOCKER-USER" in filter_table["policies"]:
        why = f"FORWARD policy is {filter_table['policies'].get('FORWARD', '?')}; DOCKER-USER is where the engine lets users accept forwarded traffic"
        rules.append(_iptables_rule(tool, "filter", "DOCKER-USER", filter_table["rules"], wanted, why, lambda rule: rule.startswith("-A DOCKER-USER ")))
    raw = tables.get("raw", {"policies": {}, "rules": []})
    ours_in_raw = any(rule.startswith("-A PREROUTING ") and _IPTABLES_MARK.search(rule) for rule in raw["rules"])
    if ours_in_raw or any(_DOCKER_RAW_DROP.match(rule) for rule in raw["rules"]):
        why = "the engine drops, in raw PREROUTING, packets for container addresses that do not come from their bridge (Engine 28+ direct routing)"
        rules.append(_iptables_rule(tool, "raw", "PREROUTING", raw["rules"], wanted, why, lambda rule: bool(_DOCKER_RAW_DROP.match(rule))))
    return rules


def nft_chains(text: str) -> dict:
    """`nft -a list table` text -> {chain: [its rule lines]}."""
    chain, chains = None, {}
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("chain "):
            chain = stripped.split()[1]
            chains[chain] = []
        elif chain and stripped and stripped != "}" and not stripped.startswith("type "):
            chains[chain].append(stripped)
    return chains


def _nft_spec(wanted: Tunnel) -> list:
    """Our rule's statement, as nft lists it (the interface wildcard is nftables' `*`)."""
    interface = wanted.interface[:-1] + "*" if wanted.interface.endswith("+") else wanted.interface
    return ["iifname", f'"{interface}"', "ip", "saddr", str(wanted.peer), "counter", "accept", "comment", f'"{COMMENT}"']


def nft_rules(text: str, wanted: Tunnel) -> list:
    """Our rules for the nftables backend: an accept at the top of the engine's raw and forward chains."""
    rules, chains = [], nft_chains(text)
    spec = _nft_spec(wanted)
    for name in (chain for chain in NFT_CHAINS if chain in chains):
        marked = [(i, _NFT_HANDLE.search(rule)) for i, rule in enumerate(chains[name]) if f'comment "{COMMENT}"' in rule]
        first = chains[name][0] if chains[name] else ""
        present = len(marked) == 1 and marked[0][0] == 0 and _NFT_HANDLE.sub("", _NFT_COUNTER.sub(" counter", first)).strip() == " ".join(spec)
        add = shlex.join(["nft", "insert", "rule", "ip", NFT_TABLE, name, *spec])
        remove = [shlex.join(["nft", "delete", "rule", "ip", NFT_TABLE, name, "handle", str(int(handle[1]))]) for _i, handle in marked if handle]
        why = f"the engine's nftables chain {name} drops traffic to containers that does not come from their bridge"
        rules.append(Rule(f"nftables ip {NFT_TABLE} {name}", why, present, add, remove))
    return rules


def read_firewall(output: str, wanted: Tunnel) -> Firewall:
    """The backend the engine uses and our rules for it, from the gather script's output."""
    found, missing = sections(output)
    if found.get("nft"):
        return Firewall("nftables", nft_rules(found["nft"], wanted), missing)
    for tool in IPTABLES:
        tables = iptables_tables(found.get(tool) or "")
        if "DOCKER-USER" in tables.get("filter", {}).get("policies", {}) or any(r.startswith("-A PREROUTING") for r in tables.get("raw", {}).get("rules", [])):
            return Firewall(tool, iptables_rules(tool, tables, wanted), missing)
    return Firewall("none", [], missing)


def commands(firewall: Firewall, state: str) -> list:
    """The commands that bring our rules to `state`: add what is missing (first removing every rule of ours there: a
    stale one, a copy, one behind the engine's drops), or remove every rule of ours."""
    planned = []
    for rule in firewall.rules:
        if state == "absent":
            planned += rule.remove
        elif not rule.present:
            planned += [*rule.remove, rule.add]
    return planned


def script(planned: list) -> str:
    return "set -e\n" + "\n".join(planned) + "\n"
