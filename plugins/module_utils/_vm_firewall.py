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
"""

from __future__ import annotations

import re
import typing as t

COMMENT = "hostreach.kind-tunnel"
NFT_TABLE = "docker-bridges"
NFT_CHAINS = ("raw-PREROUTING", "filter-FORWARD")
IPTABLES = ("iptables-nft", "iptables-legacy")  # tried in this order; Docker uses whichever `iptables` is

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


class Rule(t.NamedTuple):
    """One rule of ours, where it goes, why it is needed, and whether it is in place."""

    where: str  # e.g. "iptables-nft filter DOCKER-USER" or "nftables ip docker-bridges raw-PREROUTING"
    why: str
    present: bool
    add: str  # the command that adds it
    remove: list  # the commands that remove it (one per copy found)


class Firewall(t.NamedTuple):
    backend: str  # iptables-nft, iptables-legacy, nftables, or none (the engine manages no firewall)
    rules: list
    missing_tools: list


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


def _ours(peer: str, chain: str) -> str:
    return f"-A {chain} -s {peer}/32 -m comment --comment {COMMENT} -j ACCEPT"


def _iptables_rule(tool: str, table: str, chain: str, rules: list, peer: str, why: str, before: t.Callable) -> Rule:
    """Our ACCEPT for `peer` in `table` `chain`; in place when it comes before the first rule `before` matches."""
    ours = _ours(peer, chain)
    spec = ours[len(f"-A {chain} ") :]
    positions = [i for i, rule in enumerate(rules) if rule == ours]
    blockers = [i for i, rule in enumerate(rules) if before(rule) and rule != ours]
    present = len(positions) == 1 and (not blockers or positions[0] < blockers[0])  # one copy, ahead of the drops
    return Rule(f"{tool} {table} {chain}", why, present, f"{tool} -t {table} -I {chain} 1 {spec}", [f"{tool} -t {table} -D {chain} {spec}"] * len(positions))


def iptables_rules(tool: str, tables: dict, peer: str) -> list:
    """Our rules for an engine whose chains are in `tool`'s tables."""
    rules = []
    filter_table = tables.get("filter", {"policies": {}, "rules": []})
    if "DOCKER-USER" in filter_table["policies"]:
        why = f"FORWARD policy is {filter_table['policies'].get('FORWARD', '?')}; DOCKER-USER is where the engine lets users accept forwarded traffic"
        rules.append(_iptables_rule(tool, "filter", "DOCKER-USER", filter_table["rules"], peer, why, lambda rule: rule.startswith("-A DOCKER-USER ")))
    raw = tables.get("raw", {"policies": {}, "rules": []})
    if any(_DOCKER_RAW_DROP.match(rule) for rule in raw["rules"]) or any(rule == _ours(peer, "PREROUTING") for rule in raw["rules"]):
        why = "the engine drops, in raw PREROUTING, packets for container addresses that do not come from their bridge (Engine 28+ direct routing)"
        rules.append(_iptables_rule(tool, "raw", "PREROUTING", raw["rules"], peer, why, lambda rule: bool(_DOCKER_RAW_DROP.match(rule))))
    return rules


def nft_rules(text: str, peer: str) -> list:
    """Our rules for the nftables backend: an accept at the top of the engine's raw and forward chains."""
    rules, chain, chains = [], None, {}
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("chain "):
            chain = stripped.split()[1]
            chains[chain] = []
        elif chain and stripped and stripped != "}" and not stripped.startswith("type "):
            chains[chain].append(stripped)
    for name in NFT_CHAINS:
        if name not in chains:
            continue
        handles = [_NFT_HANDLE.search(r).group(1) for r in chains[name] if f'comment "{COMMENT}"' in r and _NFT_HANDLE.search(r)]
        first_is_ours = len(handles) == 1 and f'comment "{COMMENT}"' in chains[name][0]
        add = f'nft insert rule ip {NFT_TABLE} {name} ip saddr {peer} counter accept comment "{COMMENT}"'
        why = f"the engine's nftables chain {name} drops traffic to containers that does not come from their bridge"
        rules.append(Rule(f"nftables ip {NFT_TABLE} {name}", why, first_is_ours, add, [f"nft delete rule ip {NFT_TABLE} {name} handle {h}" for h in handles]))
    return rules


def read_firewall(output: str, peer: str) -> Firewall:
    """The backend the engine uses and our rules for it, from the gather script's output."""
    found, missing = sections(output)
    if found.get("nft"):
        return Firewall("nftables", nft_rules(found["nft"], peer), missing)
    for tool in IPTABLES:
        tables = iptables_tables(found.get(tool) or "")
        if "DOCKER-USER" in tables.get("filter", {}).get("policies", {}) or any(r.startswith("-A PREROUTING") for r in tables.get("raw", {}).get("rules", [])):
            return Firewall(tool, iptables_rules(tool, tables, peer), missing)
    return Firewall("none", [], missing)


def commands(firewall: Firewall, state: str) -> list:
    """The commands that bring our rules to `state`: add what is missing (first moving a copy that sits behind the
    engine's drops), or remove every copy."""
    planned = []
    for rule in firewall.rules:
        if state == "absent":
            planned += rule.remove
        elif not rule.present:
            planned += [*rule.remove, rule.add]
    return planned


def script(planned: list) -> str:
    return "set -e\n" + "\n".join(planned) + "\n"
