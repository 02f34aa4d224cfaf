#!/usr/bin/env bash
# Tier 2 of the test harness: a real kind cluster.
#   scripts/kind.sh up [NAME]      create it (idempotent) and wait until every node is Ready
#   scripts/kind.sh down [NAME]    delete it and everything it made: containers, volumes, the network
#   scripts/kind.sh status [NAME]  say whether it runs, its nodes and its kubeconfig
#   scripts/kind.sh load NAME IMAGE...  `kind load docker-image` (through the docker wrapper if needed)
# NAME: $HOSTREACH_KIND_CLUSTER or hostreach-test. Kubeconfig: $HOSTREACH_CACHE/run/kind-NAME/kubeconfig
# (context kind-NAME).
# Image: by default hostreach/kind-node:$K8S_VERSION, built locally by scripts/kind-node-image.sh with
# no pull. Where a registry is reachable, HOSTREACH_KIND_IMAGE=<image> (e.g. the stock kindest/node)
# uses that image instead, with kind's default CNI and CoreDNS.
# Where `docker run --privileged` fails (this machine: CAP_SYS_RESOURCE outside the bounding set),
# kind runs with scripts/kind-docker-wrapper first on PATH; HOSTREACH_KIND_PRIVILEGED=native|wrapper
# skips the probe.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/kind-node/settings.sh
source "$REPO_ROOT/scripts/kind-node/settings.sh"

ACTION="${1:-}"
NAME="${2:-${HOSTREACH_KIND_CLUSTER:-hostreach-test}}"
RUN_DIR="$HOSTREACH_CACHE/run/kind-$NAME"
KUBECONFIG_FILE="$RUN_DIR/kubeconfig"
NETWORK="${KIND_EXPERIMENTAL_DOCKER_NETWORK:-kind}"
KIND="$KIND_BIN/kind"
KUBECTL="$K8S_BIN/kubectl"
READY_TIMEOUT="${HOSTREACH_KIND_READY_TIMEOUT:-300s}"
# Present while the docker network exists because one of our `up`s made it (kind creates it); shared by
# every cluster on that network, so the last `down` to leave it empty removes it.
NETWORK_MARKER="$HOSTREACH_CACHE/run/kind-network-$NETWORK.created-by-kind-sh"
# kubelet sets these host-wide kernel settings when it starts (in any kind cluster on Linux): an `up`
# saves them unless saved already, the `down` after which no kind cluster is left puts them back.
KUBELET_SYSCTLS=(kernel.panic kernel.panic_on_oops vm.overcommit_memory vm.panic_on_oom kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
SAVED_SYSCTLS="$HOSTREACH_CACHE/run/kind-host-sysctls.saved"

[[ "$NAME" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || die "cluster name '$NAME' must be lowercase letters, digits and '-'"

cluster_exists() { [[ -x "$KIND" ]] && "$KIND" get clusters 2>/dev/null | grep -qx "$NAME"; }
node_containers() { docker ps -aq --filter "label=io.x-k8s.kind.cluster=$NAME"; }

# Runs kind, with the --privileged-swapping docker wrapper first on PATH when this host needs it.
run_kind() {
  if [[ "$(cat "$RUN_DIR/docker-mode" 2>/dev/null)" == wrapper ]]; then
    PATH="$REPO_ROOT/scripts/kind-docker-wrapper:$PATH" "$KIND" "$@"
  else
    "$KIND" "$@"
  fi
}

docker_mode() { # image
  case "${HOSTREACH_KIND_PRIVILEGED:-auto}" in
    native | wrapper) printf '%s\n' "$HOSTREACH_KIND_PRIVILEGED" ;;
    auto)
      if docker run --rm --privileged --entrypoint /bin/true "$1" >/dev/null 2>&1; then echo native; else echo wrapper; fi
      ;;
    *) die "HOSTREACH_KIND_PRIVILEGED must be auto, native or wrapper, not '$HOSTREACH_KIND_PRIVILEGED'" ;;
  esac
}

write_config() { # local_image(yes|no)
  {
    printf 'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n'
    if [[ "$1" == yes ]]; then
      # The local image ships a static bridge CNI config and no CoreDNS image.
      cat <<EOF
networking:
  disableDefaultCNI: true
  podSubnet: $KIND_POD_SUBNET
kubeadmConfigPatches:
  - |
    kind: InitConfiguration
    skipPhases:
      - preflight
      - addon/coredns
EOF
    fi
  } >"$RUN_DIR/kind-config.yaml"
}

save_sysctls() {
  [[ ! -f "$SAVED_SYSCTLS" ]] || return 0
  sysctl -e "${KUBELET_SYSCTLS[@]}" >"$SAVED_SYSCTLS.tmp"
  mv -f "$SAVED_SYSCTLS.tmp" "$SAVED_SYSCTLS"
}

restore_sysctls() {
  [[ -f "$SAVED_SYSCTLS" && -z "$(docker ps -aq --filter label=io.x-k8s.kind.cluster)" ]] || return 0
  sysctl -q -p "$SAVED_SYSCTLS" || die "could not restore the kernel settings saved in $SAVED_SYSCTLS"
  rm -f "$SAVED_SYSCTLS"
  log "restored host kernel settings kubelet had changed: ${KUBELET_SYSCTLS[*]}"
}

wait_ready() {
  "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" wait node --all --for=condition=Ready --timeout="$READY_TIMEOUT" >/dev/null ||
    die "nodes of kind cluster $NAME not Ready within $READY_TIMEOUT; see: $KIND export logs --name $NAME"
  # Pods are admitted only once the controller manager has made their namespace's service account.
  "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" wait --for=create serviceaccount/default --namespace default --timeout="$READY_TIMEOUT" >/dev/null ||
    die "kind cluster $NAME: the controller manager made no default service account within $READY_TIMEOUT"
}

up() {
  local image local_image=yes start=$SECONDS
  mkdir -p "$RUN_DIR"
  if cluster_exists; then
    log "kind cluster $NAME already exists"
    [[ -f "$KUBECONFIG_FILE" ]] || run_kind export kubeconfig --name "$NAME" --kubeconfig "$KUBECONFIG_FILE"
    wait_ready
    printf '%s\n' "$KUBECONFIG_FILE"
    return 0
  fi
  [[ -x "$KIND" && -x "$KUBECTL" ]] || "$REPO_ROOT/scripts/k8s-build.sh" all
  if [[ -n "${HOSTREACH_KIND_IMAGE:-}" ]]; then
    image="$HOSTREACH_KIND_IMAGE"
    local_image=no
  else
    "$REPO_ROOT/scripts/kind-node-image.sh" build
    image="$KIND_NODE_IMAGE"
  fi
  docker_mode "$image" >"$RUN_DIR/docker-mode"
  write_config "$local_image"
  if ! docker network inspect "$NETWORK" >/dev/null 2>&1; then
    touch "$NETWORK_MARKER"
  fi
  save_sysctls
  log "creating kind cluster $NAME from $image (docker mode: $(cat "$RUN_DIR/docker-mode"))"
  run_kind create cluster --name "$NAME" --image "$image" --config "$RUN_DIR/kind-config.yaml" \
    --kubeconfig "$KUBECONFIG_FILE" --wait "$READY_TIMEOUT" ${HOSTREACH_KIND_RETAIN:+--retain} ||
    die "kind create cluster failed (rerun with HOSTREACH_KIND_RETAIN=1 and 'kind export logs' to debug)"
  wait_ready
  log "kind cluster $NAME Ready in $((SECONDS - start))s; kubeconfig: $KUBECONFIG_FILE (context kind-$NAME)"
  printf '%s\n' "$KUBECONFIG_FILE"
}

# On a cgroup v1 host runc freezes a pod container's cgroup while it sets the device rules; a node
# killed at that moment keeps a frozen task that no signal reaches, so the node container never dies
# (docker: "tried to kill container, but did not receive an exit event"). Thawing lets it go.
thaw_node() { # container
  local pid cgroup state
  [[ -d /sys/fs/cgroup/freezer ]] || return 0
  pid="$(docker inspect -f '{{.State.Pid}}' "$1" 2>/dev/null)" || return 0
  cgroup="$(sed -n 's/^[0-9]*:freezer:\(.*\)$/\1/p' "/proc/$pid/cgroup" 2>/dev/null)" || return 0
  [[ "$pid" != 0 && -n "$cgroup" && -d "/sys/fs/cgroup/freezer$cgroup" ]] || return 0
  while read -r state; do
    if [[ "$(cat "$state" 2>/dev/null)" == FROZEN ]]; then
      log "thawing frozen cgroup ${state%/freezer.state} of $1"
      echo THAWED >"$state" 2>/dev/null || true
    fi
  done < <(find "/sys/fs/cgroup/freezer$cgroup" -name freezer.state)
}

remove_node_containers() {
  local attempt container
  for attempt in 1 2 3 4 5; do
    [[ -n "$(node_containers)" ]] || return 0
    for container in $(node_containers); do
      thaw_node "$container"
      docker rm -f -v "$container" >/dev/null 2>&1 || log "attempt $attempt: docker rm $container failed"
    done
  done
  [[ -z "$(node_containers)" ]] || die "could not remove the node containers of $NAME: $(node_containers | tr '\n' ' ')"
}

down() {
  local start=$SECONDS
  if cluster_exists; then
    run_kind delete cluster --name "$NAME" --kubeconfig "$KUBECONFIG_FILE" ||
      log "kind delete cluster $NAME failed; removing its node containers directly"
  fi
  remove_node_containers
  if [[ -f "$NETWORK_MARKER" ]]; then
    if ! docker network inspect "$NETWORK" >/dev/null 2>&1; then
      rm -f "$NETWORK_MARKER"
    elif [[ -z "$(docker network inspect -f '{{range .Containers}}{{.Name}} {{end}}' "$NETWORK")" ]]; then
      docker network rm "$NETWORK" >/dev/null
      rm -f "$NETWORK_MARKER"
    else
      log "leaving docker network $NETWORK: other containers still use it; the last kind.sh down removes it"
    fi
  fi
  restore_sysctls
  rm -rf "$RUN_DIR"
  log "kind cluster $NAME deleted in $((SECONDS - start))s"
}

status() {
  if cluster_exists; then
    printf 'kind cluster %s: running\nkubeconfig: %s (context kind-%s)\n' "$NAME" "$KUBECONFIG_FILE" "$NAME"
    "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" get nodes -o wide
  else
    printf 'kind cluster %s: not running\n' "$NAME"
    return 3
  fi
}

load() { # image...
  cluster_exists || die "kind cluster $NAME is not running; start it with: $0 up $NAME"
  (($# > 0)) || die "usage: $0 load NAME IMAGE..."
  run_kind load docker-image --name "$NAME" "$@"
}

# One up or down at a time (pytest and molecule may start the same cluster at once).
mkdir -p "$HOSTREACH_CACHE/run"
exec {run_lock}<"$HOSTREACH_CACHE/run"

case "$ACTION" in
  up) flock "$run_lock" && up ;;
  down) flock "$run_lock" && down ;;
  status) status ;;
  load) load "${@:3}" ;;
  *) die "usage: $0 up|down|status [NAME] | load NAME IMAGE..." ;;
esac
