#!/usr/bin/env bash
# Tier 2 of the test harness: a real kind cluster.
#   harness/kind.sh up [NAME] [--workers N] [--pod-subnet CIDR] [--service-subnet CIDR]
#                                  create it (idempotent) and wait until every node is Ready and CoreDNS
#                                  is available
#   harness/kind.sh down [NAME]    delete it and everything it made: containers, volumes, the network
#   harness/kind.sh status [NAME]  say whether it runs, its nodes and its kubeconfig
#   harness/kind.sh load NAME IMAGE...  `kind load docker-image` (through the docker wrapper if needed)
# NAME: $HOSTREACH_KIND_CLUSTER or hostreach-test. Kubeconfig: $HOSTREACH_CACHE/run/kind-NAME/kubeconfig
# (context kind-NAME).
# Shape of the cluster (an option wins over its environment variable):
#   --workers N / HOSTREACH_KIND_WORKERS        `role: worker` nodes beside the control plane (default 0);
#                                               the nodes are NAME-control-plane, NAME-worker, NAME-worker2, ...
#   --pod-subnet / HOSTREACH_KIND_POD_SUBNET    networking.podSubnet (default kind's 10.244.0.0/16); every
#                                               node gets its own /24 of it (Node spec.podCIDR)
#   --service-subnet / HOSTREACH_KIND_SERVICE_SUBNET  networking.serviceSubnet (default kind's 10.96.0.0/16);
#                                               the kube-dns Service gets its 10th address (10.96.0.10)
# An `up` of a cluster that runs with another shape fails; `down` it first.
# Image: by default hostreach/kind-node:$K8S_VERSION, built locally by harness/kind-node-image.sh with
# no pull; its hostreach-cni service does kindnet's job (a bridge CNI config from the Node's podCIDR,
# routes to the other nodes' pod ranges) and kubeadm deploys CoreDNS from the preloaded image.
# Where a registry is reachable, HOSTREACH_KIND_IMAGE=<image> (e.g. the stock kindest/node) uses that
# image instead, with kind's default CNI (kindnet).
# Where `docker run --privileged` fails (this machine: CAP_SYS_RESOURCE outside the bounding set),
# kind runs with harness/kind-docker-wrapper first on PATH; HOSTREACH_KIND_PRIVILEGED=native|wrapper
# skips the probe.
set -euo pipefail
# shellcheck source=harness/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=harness/kind-node/settings.sh
source "$HARNESS_DIR/kind-node/settings.sh"

ACTION="${1:-}"
(($# == 0)) || shift
NAME="${HOSTREACH_KIND_CLUSTER:-hostreach-test}"
if (($# > 0)) && [[ "$1" != --* ]]; then
  NAME="$1"
  shift
fi
WORKERS="${HOSTREACH_KIND_WORKERS:-0}"
POD_SUBNET="${HOSTREACH_KIND_POD_SUBNET:-$KIND_DEFAULT_POD_SUBNET}"
SERVICE_SUBNET="${HOSTREACH_KIND_SERVICE_SUBNET:-$KIND_DEFAULT_SERVICE_SUBNET}"
RUN_DIR="$HOSTREACH_CACHE/run/kind-$NAME"
KUBECONFIG_FILE="$RUN_DIR/kubeconfig"
NETWORK="${KIND_EXPERIMENTAL_DOCKER_NETWORK:-kind}"
KIND="$KIND_BIN/kind"
KUBECTL="$K8S_BIN/kubectl"
READY_TIMEOUT="${HOSTREACH_KIND_READY_TIMEOUT:-300s}"
# Present while the docker network exists because one of our `up`s made it (kind creates it); shared by
# every cluster on that network, so the last `down` to leave it empty removes it. One per engine: a cluster
# on another engine (DOCKER_HOST, e.g. the Docker VM of harness/vm.py) has a `kind` network of its own.
NETWORK_MARKER="$HOSTREACH_CACHE/run/kind-network-$NETWORK${DOCKER_HOST:+-$(printf '%s' "$DOCKER_HOST" | sha256sum | cut -c1-12)}.created-by-kind-sh"
# kubelet sets these host-wide kernel settings when it starts (in any kind cluster on Linux): an `up`
# saves them unless saved already, the `down` after which no kind cluster is left puts them back.
KUBELET_SYSCTLS=(kernel.panic kernel.panic_on_oops vm.overcommit_memory vm.panic_on_oom kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
SAVED_SYSCTLS="$HOSTREACH_CACHE/run/kind-host-sysctls.saved"
# kind's known issue "Pod errors due to too many open files": the nodes' systemd, containerd, kubelet and kube-proxy
# all take inotify instances from root's one budget (128 by default), and with five or six nodes running kube-proxy
# of the next cluster crash-loops ("failed complete: too many open files"). While a cluster runs they are at least
# what kind's documentation gives; the last `down` puts them back with the kubelet settings.
INOTIFY_LIMITS=(fs.inotify.max_user_instances=512 fs.inotify.max_user_watches=524288)

[[ "$NAME" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || die "cluster name '$NAME' must be lowercase letters, digits and '-'"

# grep reads the whole list: with -q it would exit at the first match, and kind, still writing, would die of SIGPIPE,
# which pipefail turns into "no such cluster" (seen 8 times in 300 for a cluster listed before another).
cluster_exists() { [[ -x "$KIND" ]] && "$KIND" get clusters 2>/dev/null | grep -x "$NAME" >/dev/null; }
node_containers() { docker ps -aq --filter "label=io.x-k8s.kind.cluster=$NAME"; }

# Runs kind, with the --privileged-swapping docker wrapper first on PATH when this host needs it.
run_kind() {
  if [[ "$(cat "$RUN_DIR/docker-mode" 2>/dev/null)" == wrapper ]]; then
    PATH="$HARNESS_DIR/kind-docker-wrapper:$PATH" "$KIND" "$@"
  else
    "$KIND" "$@"
  fi
}

docker_mode() { # image
  case "${HOSTREACH_KIND_PRIVILEGED:-auto}" in
    native | wrapper) printf '%s\n' "$HOSTREACH_KIND_PRIVILEGED" ;;
    auto)
      if docker run --rm --privileged --network=none --entrypoint /bin/true "$1" >/dev/null 2>&1; then echo native; else echo wrapper; fi
      ;;
    *) die "HOSTREACH_KIND_PRIVILEGED must be auto, native or wrapper, not '$HOSTREACH_KIND_PRIVILEGED'" ;;
  esac
}

parse_up_options() { # option...
  while (($# > 0)); do
    case "$1" in
      --workers | --pod-subnet | --service-subnet)
        (($# >= 2)) || die "$1 needs a value"
        case "$1" in
          --workers) WORKERS="$2" ;;
          --pod-subnet) POD_SUBNET="$2" ;;
          --service-subnet) SERVICE_SUBNET="$2" ;;
        esac
        shift 2
        ;;
      --workers=* | --pod-subnet=* | --service-subnet=*)
        parse_up_options "${1%%=*}" "${1#*=}"
        shift
        ;;
      *) die "unknown option '$1'; usage: $0 up [NAME] [--workers N] [--pod-subnet CIDR] [--service-subnet CIDR]" ;;
    esac
  done
}

# An IPv4 CIDR as "first address as an integer, prefix length"; the host bits must be zero.
cidr_parse() { # what cidr
  local what="$1" cidr="$2" a b c d len ip
  [[ "$cidr" =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})/([0-9]{1,2})$ ]] ||
    die "$what '$cidr' is not an IPv4 CIDR like 10.244.0.0/16"
  a="${BASH_REMATCH[1]}" b="${BASH_REMATCH[2]}" c="${BASH_REMATCH[3]}" d="${BASH_REMATCH[4]}" len="${BASH_REMATCH[5]}"
  ((10#$a <= 255 && 10#$b <= 255 && 10#$c <= 255 && 10#$d <= 255 && 10#$len <= 32)) || die "$what '$cidr' is not an IPv4 CIDR"
  ip=$(((10#$a << 24) | (10#$b << 16) | (10#$c << 8) | 10#$d))
  len=$((10#$len))
  ((len == 0 || (ip & ((1 << (32 - len)) - 1)) == 0)) || die "$what '$cidr' has host bits set"
  printf '%s %s\n' "$ip" "$len"
}

validate_shape() {
  local pod pod_ip pod_len svc svc_ip svc_len
  if [[ ! "$WORKERS" =~ ^[0-9]{1,2}$ ]] || ((10#$WORKERS > 20)); then
    die "the worker count must be a number from 0 to 20, not '$WORKERS'"
  fi
  WORKERS=$((10#$WORKERS))
  pod="$(cidr_parse "pod subnet" "$POD_SUBNET")" || exit 1
  svc="$(cidr_parse "service subnet" "$SERVICE_SUBNET")" || exit 1
  read -r pod_ip pod_len <<<"$pod"
  read -r svc_ip svc_len <<<"$svc"
  # kube-controller-manager gives every node a /24 of the pod subnet.
  ((pod_len <= 24 && (1 << (24 - pod_len)) >= WORKERS + 1)) ||
    die "pod subnet $POD_SUBNET has no room for $((WORKERS + 1)) node /24s (kube-controller-manager gives each node one)"
  # kube-apiserver takes a service range of at most 2^20 addresses; kube-dns needs its 10th address.
  ((svc_len >= 12 && svc_len <= 28)) || die "service subnet $SERVICE_SUBNET must be a /12 to /28"
  ((pod_ip + (1 << (32 - pod_len)) <= svc_ip || svc_ip + (1 << (32 - svc_len)) <= pod_ip)) ||
    die "pod subnet $POD_SUBNET and service subnet $SERVICE_SUBNET overlap"
}

# What `up` makes, in one line; an `up` of a running cluster compares it with the one saved at creation.
shape() { # image
  printf 'image=%s workers=%s pod-subnet=%s service-subnet=%s\n' "$1" "$WORKERS" "$POD_SUBNET" "$SERVICE_SUBNET"
}

write_config() { # local_image(yes|no)
  local i
  {
    printf 'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n  - role: control-plane\n'
    for ((i = 0; i < WORKERS; i++)); do printf '  - role: worker\n'; done
    printf 'networking:\n  podSubnet: %s\n  serviceSubnet: %s\n' "$POD_SUBNET" "$SERVICE_SUBNET"
    # The local image brings its own pod network (hostreach-cni) instead of kindnet.
    if [[ "$1" == yes ]]; then printf '  disableDefaultCNI: true\n'; fi
  } >"$RUN_DIR/kind-config.yaml"
}

save_sysctls() {
  [[ ! -f "$SAVED_SYSCTLS" ]] || return 0
  sysctl -e "${KUBELET_SYSCTLS[@]}" "${INOTIFY_LIMITS[@]%%=*}" >"$SAVED_SYSCTLS.tmp"
  mv -f "$SAVED_SYSCTLS.tmp" "$SAVED_SYSCTLS"
}

raise_inotify_limits() {
  local limit name
  for limit in "${INOTIFY_LIMITS[@]}"; do
    name="${limit%%=*}"
    if (($(sysctl -n "$name") < ${limit#*=})); then
      sysctl -q -w "$limit"
    fi
  done
}

# The kernel settings are the host's, whichever engine runs kubelet: a kind cluster still running on this engine,
# on the host's default engine, or on the engine another `up` recorded in its run dir keeps them as kubelet set them.
other_kind_clusters() {
  local dir name
  docker ps -aq --filter label=io.x-k8s.kind.cluster
  [[ -z "${DOCKER_HOST:-}" ]] || env -u DOCKER_HOST docker ps -aq --filter label=io.x-k8s.kind.cluster 2>/dev/null || true
  for dir in "$HOSTREACH_CACHE"/run/kind-*/; do
    [[ -d "$dir" && "${dir%/}" != "$RUN_DIR" ]] || continue
    name="$(basename "$dir")"
    name="${name#kind-}"
    if [[ -s "$dir/docker-host" ]]; then
      DOCKER_HOST="$(<"$dir/docker-host")" docker ps -aq --filter "label=io.x-k8s.kind.cluster=$name" 2>/dev/null || true
    fi
  done
}

restore_sysctls() {
  [[ -f "$SAVED_SYSCTLS" && -z "$(other_kind_clusters)" ]] || return 0
  sysctl -q -p "$SAVED_SYSCTLS" || die "could not restore the kernel settings saved in $SAVED_SYSCTLS"
  rm -f "$SAVED_SYSCTLS"
  log "restored host kernel settings kubelet and kind.sh had changed: ${KUBELET_SYSCTLS[*]} ${INOTIFY_LIMITS[*]%%=*}"
}

wait_ready() {
  "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" wait node --all --for=condition=Ready --timeout="$READY_TIMEOUT" >/dev/null ||
    die "nodes of kind cluster $NAME not Ready within $READY_TIMEOUT; see: $KIND export logs --name $NAME"
  # Pods are admitted only once the controller manager has made their namespace's service account.
  "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" wait --for=create serviceaccount/default --namespace default --timeout="$READY_TIMEOUT" >/dev/null ||
    die "kind cluster $NAME: the controller manager made no default service account within $READY_TIMEOUT"
  # Cluster DNS answers: kubeadm's addon/coredns phase made the Deployment, and its pods are Ready.
  "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" --namespace kube-system rollout status deployment/coredns --timeout="$READY_TIMEOUT" >/dev/null ||
    die "kind cluster $NAME: CoreDNS (kube-system/coredns) not available within $READY_TIMEOUT"
}

up() {
  local image local_image=yes start=$SECONDS
  mkdir -p "$RUN_DIR"
  if [[ -n "${HOSTREACH_KIND_IMAGE:-}" ]]; then
    image="$HOSTREACH_KIND_IMAGE"
    local_image=no
  else
    image="$KIND_NODE_IMAGE"
  fi
  if cluster_exists; then
    log "kind cluster $NAME already exists"
    if [[ -f "$RUN_DIR/shape" && "$(cat "$RUN_DIR/shape")" != "$(shape "$image")" ]]; then
      die "kind cluster $NAME runs with $(cat "$RUN_DIR/shape"), not $(shape "$image"); run: $0 down $NAME"
    fi
    [[ -f "$KUBECONFIG_FILE" ]] || run_kind export kubeconfig --name "$NAME" --kubeconfig "$KUBECONFIG_FILE"
    wait_ready
    printf '%s\n' "$KUBECONFIG_FILE"
    return 0
  fi
  [[ -x "$KIND" && -x "$KUBECTL" ]] || "$HARNESS_DIR/k8s-build.sh" all
  [[ "$local_image" == no ]] || "$HARNESS_DIR/kind-node-image.sh" build
  docker_mode "$image" >"$RUN_DIR/docker-mode"
  printf '%s\n' "${DOCKER_HOST:-}" >"$RUN_DIR/docker-host" # the engine, for another cluster's restore_sysctls
  write_config "$local_image"
  shape "$image" >"$RUN_DIR/shape"
  if ! docker network inspect "$NETWORK" >/dev/null 2>&1; then
    touch "$NETWORK_MARKER"
  fi
  save_sysctls
  raise_inotify_limits
  log "creating kind cluster $NAME from $image: $((WORKERS + 1)) node(s), pod subnet $POD_SUBNET, service subnet $SERVICE_SUBNET (docker mode: $(cat "$RUN_DIR/docker-mode"))"
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

USAGE="usage: $0 up [NAME] [--workers N] [--pod-subnet CIDR] [--service-subnet CIDR] | down|status [NAME] | load NAME IMAGE..."
case "$ACTION" in
  up) parse_up_options "$@" && validate_shape && flock "$run_lock" && up ;;
  down) (($# == 0)) || die "$USAGE" && flock "$run_lock" && down ;;
  status) (($# == 0)) || die "$USAGE" && status ;;
  load) load "$@" ;;
  *) die "$USAGE" ;;
esac
