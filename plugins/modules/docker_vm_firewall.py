#!/usr/bin/python
# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_vm_firewall
short_description: Let docker-connector's tunnel through the Docker VM's firewall
version_added: 0.2.0
description:
  - On a Mac, docker-connector routes the Docker networks into a tunnel whose other end is the connector container
    inside the Docker VM. The VM's Docker engine then drops what comes out of the tunnel for containers whose ports
    are not published. dockerd sets the C(FORWARD) policy to C(DROP), and Docker Engine 28 and later (Docker Desktop
    4.39 and later) also drop, in the raw table, every packet for a container address that does not come from the
    container's own bridge. Routes alone then prove nothing, and every URL times out.
  - This module reads the VM's firewall and puts one C(ACCEPT) for the tunnel's Mac address (O(tunnel_peer)) coming in
    through the tunnel's interface (O(tunnel_interface)) where the engine's firewall needs it, before the engine's drops.
    Both must match, so a container that sends from the peer's address (it arrives on its own bridge) is not let in.
    With the iptables backend that is the C(DOCKER-USER) chain (the place Docker leaves to users, which it never
    flushes) and, when the engine put direct-routing drops there, the raw table's C(PREROUTING). With the nftables
    backend of Engine 29 it is the top of the engine's own chains C(raw-PREROUTING) and C(filter-FORWARD) of table
    C(ip docker-bridges).
  - What is needed is decided from what the firewall holds, never from the engine's version alone. Rules are marked
    with the comment C(hostreach.kind-tunnel) in both backends, so O(state=absent) removes exactly these and nothing
    else, whatever address or interface they name. A rule is in place only when it is the only marked rule of its chain
    and names O(tunnel_peer) and O(tunnel_interface); a marked rule for another peer or interface (the tunnel's address
    changed) is replaced.
  - The VM has no shell to log in to, so the firewall is read and changed by a short-lived container of O(image)
    with the VM's network (host network mode) and the C(NET_ADMIN) capability, removed when it is done.
  - The engine rebuilds its nftables table on every restart, and a restarted VM loses every rule; run the module
    again (C(ansible-playbook hostreach.kind.expose) does) and it puts them back.
  - Not needed when the daemon sets C(allow-direct-routing) and the FORWARD policy accepts, or the networks have
    C(com.docker.network.bridge.gateway_mode_ipv4=nat-unprotected); the module then finds nothing to do and says so.
author:
  - hostreach.kind contributors (@hostreach)
extends_documentation_fragment:
  - hostreach.kind._docker
  - hostreach.kind._attributes
  - hostreach.kind._attributes.actiongroup_hostreach
options:
  state:
    description:
      - V(present) adds the rules the firewall needs and does not have (and moves one that sits behind the engine's drops).
      - V(absent) removes every rule this module added.
    type: str
    choices: [present, absent]
    default: present
  tunnel_peer:
    description:
      - The Mac's address in docker-connector's tunnel, the source of everything that comes through it. The Mac holds
        the second address of the connector's C(addr) network (V(192.168.251.2) for the default C(addr 192.168.251.1/24)).
    type: str
    default: 192.168.251.2
  tunnel_interface:
    description:
      - The Docker VM's network interface that the tunnel's traffic comes in on. docker-connector's container (host
        network) opens a TUN device without a name, so the kernel calls it C(tun<N>), the first free number.
      - A trailing C(+) matches every interface whose name starts with the rest (iptables' spelling; nftables rules get
        C(*)), so the default V(tun+) matches the connector's device whatever its number. Name the device (V(tun0)) to
        exclude other TUN devices of the VM.
      - At most 15 characters of letters, digits, C(_), C(.) and C(-), optionally ending in C(+); anything else is
        refused before the firewall is read.
    type: str
    default: tun+
  image:
    description:
      - Image of the short-lived container that reads and changes the firewall. It needs C(sh), and C(iptables-nft),
        C(iptables-legacy) and C(nft) for the backends it meets (Docker's own C(docker:dind) image has them).
    type: str
    default: docker:29.8.1-dind
  pull:
    description: When to pull O(image) (V(missing), V(always), or V(never) for an engine that must not pull).
    type: str
    choices: [missing, always, never]
    default: missing
attributes:
  check_mode:
    support: full
    details:
      - Reads the firewall (one container run) and reports what would change; changes nothing.
  diff_mode:
    support: full
    details:
      - Our rules before and after, one line each, with where they sit, the peer and the interface.
notes:
  - Runs on the host (the Mac) like the other modules; it talks to the Docker engine inside the VM through O(docker_host).
seealso:
  - module: hostreach.kind.docker_bridge_routes
  - name: Docker packet filtering and firewalls
    description: DOCKER-USER, the FORWARD policy and direct routing in Docker Engine 28+.
    link: https://docs.docker.com/engine/network/packet-filtering-firewalls/
"""

EXAMPLES = r"""
- name: Let docker-connector's tunnel through the Docker VM's firewall
  hostreach.kind.docker_vm_firewall:
  register: vm_firewall

- name: A connector on another tunnel network, with an image the engine already has
  hostreach.kind.docker_vm_firewall:
    tunnel_peer: 192.168.252.2
    tunnel_interface: tun1
    image: my-registry.example/tools:iptables
    pull: never

- name: Remove the rules again
  hostreach.kind.docker_vm_firewall:
    state: absent
"""

RETURN = r"""
backend:
  description:
    - The firewall the engine uses, V(iptables-nft), V(iptables-legacy) or V(nftables); V(none) when the engine manages
      no firewall (C(iptables=false)), so nothing is needed.
  returned: success
  type: str
  sample: iptables-nft
rules:
  description:
    - Each rule the firewall needs, where it sits, why it is needed, whether it was in place before the run
      (C(present_before)) and whether it is after it (C(present); in check mode, would be).
  returned: success
  type: list
  elements: dict
  sample:
    - where: iptables-nft filter DOCKER-USER
      why: FORWARD policy is DROP; DOCKER-USER is where the engine lets users accept forwarded traffic
      present_before: false
      present: true
commands:
  description: The commands that were run in the VM (in check mode, that would be run).
  returned: success
  type: list
  elements: str
  sample: ["iptables-nft -t filter -I DOCKER-USER 1 -s 192.168.251.2/32 -i tun+ -m comment --comment hostreach.kind-tunnel -j ACCEPT"]
missing_tools:
  description: The firewall commands O(image) lacks (only those of the backend in use matter).
  returned: success
  type: list
  elements: str
  sample: [nft]
"""

import typing as t

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hostreach.kind.plugins.module_utils import _docker, _vm_firewall, _vm_tools
from ansible_collections.hostreach.kind.plugins.module_utils._errors import DockerError, HostreachError, failure

PURPOSE = "vm-firewall"


def argument_spec() -> dict:
    """AnsibleModule's keyword arguments."""
    return dict(
        argument_spec=dict(
            _docker.DOCKER_COMMON_ARGS,
            state=dict(type="str", choices=["present", "absent"], default="present"),
            tunnel_peer=dict(type="str", default="192.168.251.2"),
            tunnel_interface=dict(type="str", default=_vm_firewall.DEFAULT_INTERFACE),
            image=dict(type="str", default="docker:29.8.1-dind"),
            pull=dict(type="str", choices=list(_vm_tools.PULL_POLICIES), default="missing"),
        ),
        supports_check_mode=True,
    )


def gather(docker_host: str | None, image: str, pull: str) -> tuple:
    """(a client of the VM's engine, the gather script's output)."""
    _endpoint, client = _docker.client_for(docker_host)
    _vm_tools.ensure_image(client, image, pull)
    return client, _vm_tools.run_script(client, image, _vm_firewall.GATHER_SCRIPT, PURPOSE)


def rule_report(firewall: _vm_firewall.Firewall, state: str) -> list:
    """Each rule: where, why, whether it was in place before the run and whether it is (in check mode: would be) after."""
    return [{"where": r.where, "why": r.why, "present_before": r.present, "present": state == "present"} for r in firewall.rules]


def run(module: AnsibleModule) -> dict:
    params = module.params
    wanted = _vm_firewall.tunnel(params["tunnel_peer"], params["tunnel_interface"])
    client, output = gather(params["docker_host"], params["image"], params["pull"])
    firewall = _vm_firewall.read_firewall(output, wanted)
    if firewall.backend not in ("none", "nftables") and firewall.backend in firewall.missing_tools:
        raise DockerError(f"the engine's firewall is {firewall.backend}, which the image {params['image']} lacks; use an image that has it")
    planned = _vm_firewall.commands(firewall, params["state"])
    if planned and not module.check_mode:
        _vm_tools.run_script(client, params["image"], _vm_firewall.script(planned), PURPOSE)
    result: dict[str, t.Any] = dict(
        changed=bool(planned),
        backend=firewall.backend,
        rules=rule_report(firewall, params["state"]),
        commands=planned,
        missing_tools=firewall.missing_tools,
    )
    if module._diff:
        accept = f"ACCEPT from {wanted.peer} on {wanted.interface}"
        result["diff"] = {
            "before": "".join(f"{r['where']}: {accept}\n" for r in result["rules"] if r["present_before"]),
            "after": "".join(f"{r['where']}: {accept}\n" for r in result["rules"] if r["present"]),
        }
    return result


def main() -> None:
    module = AnsibleModule(**argument_spec())
    try:
        module.exit_json(**run(module))
    except HostreachError as exc:
        module.fail_json(**failure(exc))


if __name__ == "__main__":
    main()
