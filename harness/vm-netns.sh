#!/usr/bin/env bash
# A model of "a Mac running Docker Desktop", built from two network namespaces on this Linux host:
#   VM   netns hrvm-<name>-vm: the Docker VM. Runs its own dockerd (Docker Engine 29 from harness/engine-build.sh,
#        or Debian's 20.10), iptables on as in Docker Desktop, own --data-root/--exec-root/pidfile/socket under
#        $HOSTREACH_CACHE/run/vm-<name>/, own (managed) containerd, containers' cgroups under /hostreach-vm-<name>.
#   MAC  netns hrvm-<name>-mac: the Mac. Nothing runs there; tests run curl in it.
# They are joined by a veth pair standing for docker-connector's tunnel, addressed as the real programs
# address theirs (upstream's docker/main.go and desktop/config.go, defaults `addr 192.168.251.1/24`):
#   VM end  dc-tun0  local 192.168.251.1 peer 192.168.251.2, route 192.168.251.0/24 via .2
#           (the connector container, --net host: `ip addr add dev tunN local <addr> peer <addr+1>`)
#   MAC end utun0    local 192.168.251.2 peer 192.168.251.1
#           (the Mac daemon: `ifconfig utunN inet <addr+1> <addr>`; one `route add -net <subnet> <addr>` per
#           `route` line: `route` below, or the test, adds those as `ip route ... via 192.168.251.1`)
# MTU 1400 on both ends (the connector's default). Neither namespace is connected to anything else, so the
# only peers a test can reach are the namespaces and containers it made. The host's own dockerd is untouched:
# firewall rules are per network namespace.
# dockerd is started with `nsenter --net` (as moby's own integration tests run daemons in a netns), not
# `ip netns exec`, which remounts /sys and so hides the cgroup mounts dockerd needs; the mount namespace is
# the host's, hence every path is the VM's own. The VM's ip_forward is set to 0 first so that dockerd enables
# it itself and sets the FORWARD policy to DROP, as on a freshly booted Docker VM (iptables backend; with
# nftables, Engine 29 refuses to enable forwarding itself, so the VM gets ip_forward=1 and no DROP policy).
#
# Usage: harness/vm-netns.sh up|down|status [name]            (name: default `dev`; [a-z0-9], at most 8 chars)
#        harness/vm-netns.sh route [name] <subnet>...          (routes on the Mac, as docker-connector adds them)
#        harness/vm-netns.sh restart-engine [name]             (stop and start the VM's dockerd, state kept)
#        harness/vm-netns.sh env [name]                        (prints DOCKER_HOST=... and the names, sourceable)
# Settings (for `up`; remembered in the run dir for restart-engine):
#   HOSTREACH_VM_ENGINE    29 (default: Docker Engine $DOCKER_ENGINE_VERSION) or 20.10 (Debian's docker.io dockerd)
#   HOSTREACH_VM_FIREWALL  iptables (default) or nftables (Engine 29's --firewall-backend; needs the `nft` tool)
#   HOSTREACH_VM_DAEMON_EXTRA  more daemon.json members, e.g. '"allow-direct-routing": true' (default none)
set -euo pipefail
# shellcheck source=harness/lib.sh
source "$(dirname "$0")/lib.sh"

VM_IF=dc-tun0
MAC_IF=utun0
VM_ADDR=192.168.251.1
MAC_ADDR=192.168.251.2
TUNNEL_NET=192.168.251.0/24
TUNNEL_MTU=1400
START_TIMEOUT=60
STOP_TIMEOUT=40

setup_names() { # name
  NAME="$1"
  [[ "$NAME" =~ ^[a-z0-9]{1,8}$ ]] || die "name must be 1-8 characters [a-z0-9] (got '$NAME')"
  VM_NS="hrvm-$NAME-vm"
  MAC_NS="hrvm-$NAME-mac"
  RUN_DIR="$HOSTREACH_CACHE/run/vm-$NAME"
  SOCK="$RUN_DIR/docker.sock"
  PIDFILE="$RUN_DIR/dockerd.pid"
  CGROUP_PARENT="hostreach-vm-$NAME"
}

ns_exists() { [[ -e "/run/netns/$1" ]]; }
in_vm() { ip netns exec "$VM_NS" "$@"; }

engine_answers() { curl -fsS --max-time 2 --unix-socket "$SOCK" http://vm/_ping >/dev/null 2>&1; }

dockerd_pid() { # prints the pid of the VM's dockerd if it runs
  local pid
  [[ -s "$PIDFILE" ]] || return 1
  pid="$(<"$PIDFILE")"
  [[ -d "/proc/$pid" ]] && tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline" | grep -qxF -- "--pidfile=$PIDFILE" || return 1
  printf '%s\n' "$pid"
}

# Every process that belongs to this VM: in its network namespace (dockerd, containerd, shims), in its
# containers' cgroups, or naming its run directory on its command line.
vm_pids() {
  local proc
  if ns_exists "$VM_NS"; then ip netns pids "$VM_NS" 2>/dev/null || true; fi
  if ns_exists "$MAC_NS"; then ip netns pids "$MAC_NS" 2>/dev/null || true; fi
  find /sys/fs/cgroup -path "*/$CGROUP_PARENT*" -name cgroup.procs -exec cat {} + 2>/dev/null || true
  for proc in /proc/[0-9]*; do
    tr '\0' '\n' 2>/dev/null <"$proc/cmdline" | grep -qF -- "$RUN_DIR/" && printf '%s\n' "${proc#/proc/}"
  done
  return 0
}

write_daemon_json() { # engine firewall extra-members
  local engine="$1" firewall="$2" extra="$3"
  # As Docker Desktop: iptables on, the default bridge, no TCP socket. Engine 29 also gets its firewall backend.
  {
    printf '{\n  "iptables": true'
    [[ "$engine" == 29 ]] && printf ',\n  "firewall-backend": "%s"' "$firewall"
    [[ -n "$extra" ]] && printf ',\n  %s' "$extra"
    printf '\n}\n'
  } >"$RUN_DIR/daemon.json"
  python3 -m json.tool "$RUN_DIR/daemon.json" >/dev/null || die "HOSTREACH_VM_DAEMON_EXTRA does not make valid JSON: $extra"
}

engine_path() { # engine: PATH for dockerd (its docker-proxy, runc; containerd is Debian's either way)
  if [[ "$1" == 29 ]]; then
    printf '%s:%s\n' "$("$HARNESS_DIR/engine-build.sh" path)" "$PATH"
  else
    printf '%s\n' "$PATH"
  fi
}

dockerd_binary() { # engine
  if [[ "$1" == 29 ]]; then
    printf '%s/dockerd\n' "$("$HARNESS_DIR/engine-build.sh" path)"
  else
    command -v dockerd || die "Debian's dockerd is not installed (harness/setup-host.sh installs docker.io)"
  fi
}

start_dockerd() {
  local engine firewall dockerd path waited=0
  # shellcheck source=/dev/null
  source "$RUN_DIR/settings.env"
  engine="$HOSTREACH_VM_ENGINE" firewall="$HOSTREACH_VM_FIREWALL"
  dockerd="$(dockerd_binary "$engine")"
  path="$(engine_path "$engine")"
  log "starting dockerd ($("$dockerd" --version)) in $VM_NS, firewall $firewall (log: $RUN_DIR/dockerd.log)"
  # setsid: the daemon outlives this script and its terminal; nsenter --net only: see the header.
  nsenter --net="/run/netns/$VM_NS" -- env PATH="$path" setsid "$dockerd" \
    --config-file="$RUN_DIR/daemon.json" --data-root="$RUN_DIR/data" --exec-root="$RUN_DIR/exec" \
    --pidfile="$PIDFILE" --host="unix://$SOCK" --cgroup-parent="/$CGROUP_PARENT" \
    </dev/null >>"$RUN_DIR/dockerd.log" 2>&1 &
  until engine_answers; do
    if ((waited >= START_TIMEOUT * 2)) || ! kill -0 $! 2>/dev/null; then
      tail -n 5 "$RUN_DIR/dockerd.log" >&2
      die "dockerd in $VM_NS did not answer on $SOCK within ${START_TIMEOUT}s; see $RUN_DIR/dockerd.log"
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
}

stop_dockerd() {
  local pid waited=0
  pid="$(dockerd_pid)" || return 0
  log "stopping dockerd $pid in $VM_NS"
  kill -TERM "$pid"
  while [[ -d "/proc/$pid" ]]; do
    if ((waited >= STOP_TIMEOUT * 5)); then
      log "dockerd $pid did not stop within ${STOP_TIMEOUT}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.2
    waited=$((waited + 1))
  done
}

cmd_up() {
  local engine="${HOSTREACH_VM_ENGINE:-29}" firewall="${HOSTREACH_VM_FIREWALL:-iptables}"
  [[ $(id -u) -eq 0 ]] || die "needs root (network namespaces, iptables, dockerd)"
  [[ "$engine" == 29 || "$engine" == 20.10 ]] || die "HOSTREACH_VM_ENGINE must be 29 or 20.10 (got '$engine')"
  [[ "$firewall" == iptables || "$firewall" == nftables ]] || die "HOSTREACH_VM_FIREWALL must be iptables or nftables (got '$firewall')"
  [[ "$firewall" == iptables || "$engine" == 29 ]] || die "Docker Engine 20.10 has no nftables firewall backend"
  [[ "$firewall" == iptables ]] || command -v nft >/dev/null || die "the nftables backend needs the nft tool: apt-get install nftables"
  if ns_exists "$VM_NS" || ns_exists "$MAC_NS" || [[ -e "$RUN_DIR" ]]; then
    die "VM '$NAME' (or a leftover of it) exists: harness/vm-netns.sh down $NAME first"
  fi
  [[ "$engine" == 29 ]] && "$HARNESS_DIR/engine-build.sh" build >/dev/null
  mkdir -p "$RUN_DIR"
  # A VM that does not come up is taken down again, so nothing is left behind.
  trap 'log "up failed; taking VM $NAME down"; cmd_down' ERR
  printf 'HOSTREACH_VM_ENGINE=%s\nHOSTREACH_VM_FIREWALL=%s\n' "$engine" "$firewall" >"$RUN_DIR/settings.env"
  write_daemon_json "$engine" "$firewall" "${HOSTREACH_VM_DAEMON_EXTRA:-}"
  log "making $VM_NS and $MAC_NS, tunnel $VM_IF ($VM_ADDR) <-> $MAC_IF ($MAC_ADDR)"
  ip netns add "$VM_NS"
  ip netns add "$MAC_NS"
  ip -n "$VM_NS" link set lo up
  ip -n "$MAC_NS" link set lo up
  # iptables: dockerd enables forwarding itself and then sets the FORWARD policy to DROP, as on a freshly booted
  # Docker VM. nftables: Engine 29 refuses to enable it (it sets no DROP policy there), so the VM has it on, for
  # IPv6 too (a dual-stack network such as kind's is refused otherwise: "IPv6 global forwarding is disabled").
  if [[ "$firewall" == iptables ]]; then
    in_vm sysctl -qw net.ipv4.ip_forward=0
  else
    in_vm sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv6.conf.default.forwarding=1
  fi
  ip link add "$VM_IF" netns "$VM_NS" mtu "$TUNNEL_MTU" type veth peer name "$MAC_IF" netns "$MAC_NS" mtu "$TUNNEL_MTU"
  ip -n "$VM_NS" addr add "$VM_ADDR" peer "$MAC_ADDR" dev "$VM_IF"
  ip -n "$VM_NS" link set "$VM_IF" up
  ip -n "$VM_NS" route add "$TUNNEL_NET" via "$MAC_ADDR" dev "$VM_IF"
  ip -n "$MAC_NS" addr add "$MAC_ADDR" peer "$VM_ADDR" dev "$MAC_IF"
  ip -n "$MAC_NS" link set "$MAC_IF" up
  start_dockerd
  trap - ERR
  cmd_env
}

cmd_down() {
  local pid mnt
  # Everything goes, so nothing needs to stop gracefully: dockerd first (so it restarts no container), then
  # containerd, the shims and the containers' processes. Only this VM's processes match.
  if pid="$(dockerd_pid)"; then kill -KILL "$pid"; fi
  for pid in $(vm_pids | sort -u); do
    [[ "$pid" == "$$" ]] || kill -KILL "$pid" 2>/dev/null || true
  done
  # Killed processes leave their cgroups only once they are gone.
  for _ in $(seq 50); do
    [[ -z "$(find /sys/fs/cgroup -path "*/$CGROUP_PARENT*" -name cgroup.procs -exec cat {} + 2>/dev/null)" ]] && break
    sleep 0.1
  done
  # Mounts dockerd left behind (overlay rootfs, netns bind mounts), deepest first.
  if [[ -d "$RUN_DIR" ]]; then
    { findmnt -rn -o TARGET | grep -F -- "$RUN_DIR/" || true; } | sort -r | while read -r mnt; do
      umount -l "$mnt" 2>/dev/null || true
    done
  fi
  find /sys/fs/cgroup -depth -type d -path "*/$CGROUP_PARENT*" -exec rmdir {} + 2>/dev/null || true
  if ns_exists "$MAC_NS"; then ip netns del "$MAC_NS"; fi # takes the veth pair with it
  if ns_exists "$VM_NS"; then ip netns del "$VM_NS"; fi
  rm -rf "$RUN_DIR"
  log "VM '$NAME' is down"
}

cmd_status() {
  local ok=0 pid
  if ns_exists "$VM_NS"; then echo "netns $VM_NS: present"; else echo "netns $VM_NS: absent"; ok=1; fi
  if ns_exists "$MAC_NS"; then echo "netns $MAC_NS: present"; else echo "netns $MAC_NS: absent"; ok=1; fi
  if pid="$(dockerd_pid)"; then echo "dockerd: pid $pid"; else echo "dockerd: not running"; ok=1; fi
  if engine_answers; then
    echo "engine: $(curl -fsS --unix-socket "$SOCK" http://vm/version | sed -n 's/.*"Version":"\([^"]*\)","ApiVersion".*/\1/p') on unix://$SOCK"
  else
    echo "engine: no answer on unix://$SOCK"
    ok=1
  fi
  [[ -f "$RUN_DIR/settings.env" ]] && cat "$RUN_DIR/settings.env"
  return "$ok"
}

cmd_env() {
  printf 'DOCKER_HOST=unix://%s\nVM_NETNS=%s\nMAC_NETNS=%s\nVM_IF=%s\nMAC_IF=%s\nVM_ADDR=%s\nMAC_ADDR=%s\n' \
    "$SOCK" "$VM_NS" "$MAC_NS" "$VM_IF" "$MAC_IF" "$VM_ADDR" "$MAC_ADDR"
}

cmd_route() { # subnet...
  local subnet
  ns_exists "$MAC_NS" || die "VM '$NAME' is not up"
  for subnet in "$@"; do ip -n "$MAC_NS" route replace "$subnet" via "$VM_ADDR" dev "$MAC_IF"; done
}

main() {
  local action="${1:-}" name=dev
  shift || true
  if [[ $# -gt 0 && "$1" =~ ^[a-z0-9]{1,8}$ ]]; then name="$1"; shift; fi
  setup_names "$name"
  case "$action" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    route) [[ $# -gt 0 ]] || die "usage: $0 route [name] <subnet>..."; cmd_route "$@" ;;
    restart-engine)
      engine_answers || die "VM '$NAME' is not up"
      stop_dockerd
      start_dockerd
      ;;
    *) die "usage: $0 up|down|status|env|restart-engine [name]  |  $0 route [name] <subnet>..." ;;
  esac
}

main "$@"
