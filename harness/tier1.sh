#!/usr/bin/env bash
# Tier 1 of the test harness: a Kubernetes control plane as local processes, no nodes, no containers.
#   etcd (127.0.0.1:23790, peer 23800) + kube-apiserver (https://127.0.0.1:16443, token auth, Node,RBAC)
#   + kube-controller-manager (no serving port; finalizes namespaces, creates service accounts).
# The apiserver allocates ClusterIPs and nodePorts itself, so Service behaviour is real here.
# Ports: HOSTREACH_TIER1_{ETCD,ETCD_PEER,API}_PORT. State: $HOSTREACH_TIER1_DIR (default $HOSTREACH_CACHE/run/tier1): certs, tokens, etcd data, logs,
# logs and the kubeconfig (contexts `tier1` = admin, `tier1-viewer` = the `view` ClusterRole).
# Usage: harness/tier1.sh up|down|status      `up` builds the binaries it needs first (cached).
set -euo pipefail
# shellcheck source=harness/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=harness/k8s-paths.sh
source "$HARNESS_DIR/k8s-paths.sh"

RUN_DIR="${HOSTREACH_TIER1_DIR:-$HOSTREACH_CACHE/run/tier1}"
# Ports apart from a kind cluster's; overridable to run a second control plane beside the first.
ETCD_PORT="${HOSTREACH_TIER1_ETCD_PORT:-23790}"
ETCD_PEER_PORT="${HOSTREACH_TIER1_ETCD_PEER_PORT:-23800}"
API_PORT="${HOSTREACH_TIER1_API_PORT:-16443}"
API="https://127.0.0.1:$API_PORT"
SERVICE_CIDR=10.96.0.0/16
NODE_PORT_RANGE=30000-32767
COMPONENTS=(etcd kube-apiserver kube-controller-manager) # start order; stopped in reverse
START_TIMEOUT=90

binary_of() {
  case "$1" in
    etcd) printf '%s/etcd\n' "$ETCD_BIN" ;;
    *) printf '%s/%s\n' "$K8S_BIN" "$1" ;;
  esac
}

# The running processes of a component: our binary with our state directory on its command line.
# Found by scanning /proc rather than trusting pid files, so nothing is orphaned by a lost or stale
# pid file; processes of other clusters (other binaries, other directories) never match.
pid_of() {
  local binary proc
  binary="$(readlink -f "$(binary_of "$1")")"
  for proc in /proc/[0-9]*; do
    [[ "$(readlink "$proc/exe" 2>/dev/null)" == "$binary" ]] || continue
    tr '\0' '\n' <"$proc/cmdline" 2>/dev/null | grep -qF -- "$RUN_DIR/" && printf '%s\n' "${proc#/proc/}"
  done
  return 0
}

port_in_use() { ss -Hltn "sport = :$1" | grep -q .; }

make_certs() {
  local certs="$RUN_DIR/pki"
  mkdir -p "$certs"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=hostreach-tier1-ca \
    -keyout "$certs/ca.key" -out "$certs/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj /CN=kube-apiserver \
    -keyout "$certs/apiserver.key" -out "$certs/apiserver.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.96.0.1,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n' \
    >"$certs/apiserver.ext"
  openssl x509 -req -days 30 -in "$certs/apiserver.csr" -CA "$certs/ca.crt" -CAkey "$certs/ca.key" \
    -CAcreateserial -extfile "$certs/apiserver.ext" -out "$certs/apiserver.crt" 2>/dev/null
  # Service account tokens: signed by the apiserver, verified by it and the controller-manager.
  openssl genrsa -out "$certs/sa.key" 2048 2>/dev/null
  openssl rsa -in "$certs/sa.key" -pubout -out "$certs/sa.pub" 2>/dev/null
  chmod 600 "$certs"/*.key
}

# Static tokens: an admin (system:masters), a low-privilege viewer and the controller-manager.
# Written to files readable by root only; never printed.
make_tokens() {
  local admin viewer cm
  admin="$(openssl rand -hex 24)" viewer="$(openssl rand -hex 24)" cm="$(openssl rand -hex 24)"
  (
    umask 077
    printf '%s,tier1-admin,tier1-admin,"system:masters"\n%s,tier1-viewer,tier1-viewer\n%s,system:kube-controller-manager,system:kube-controller-manager\n' \
      "$admin" "$viewer" "$cm" >"$RUN_DIR/tokens.csv"
    printf 'Authorization: Bearer %s\n' "$admin" >"$RUN_DIR/admin-header"
    write_kubeconfig "$RUN_DIR/kubeconfig" "tier1:tier1-admin:$admin" "tier1-viewer:tier1-viewer:$viewer"
    write_kubeconfig "$RUN_DIR/controller-manager.kubeconfig" "default:system:kube-controller-manager:$cm"
  )
}

write_kubeconfig() { # path context:user:token... (the first context is the current one)
  local path="$1" ca entry context user token
  shift
  ca="$(base64 -w0 "$RUN_DIR/pki/ca.crt")"
  {
    printf 'apiVersion: v1\nkind: Config\nclusters:\n- name: tier1\n  cluster:\n    server: %s\n    certificate-authority-data: %s\n' "$API" "$ca"
    printf 'current-context: %s\ncontexts:\n' "${1%%:*}"
    for entry in "$@"; do
      context="${entry%%:*}" user="${entry#*:}" user="${user%:*}"
      printf -- '- name: %s\n  context:\n    cluster: tier1\n    user: %s\n' "$context" "$user"
    done
    printf 'users:\n'
    for entry in "$@"; do
      user="${entry#*:}" user="${user%:*}" token="${entry##*:}"
      printf -- '- name: %s\n  user:\n    token: %s\n' "$user" "$token"
    done
  } >"$path"
}

start() { # component args...
  local name="$1"
  shift
  # 8>&-: the daemons must not inherit (and so hold forever) the up/down lock.
  setsid "$(binary_of "$name")" "$@" </dev/null >"$RUN_DIR/$name.log" 2>&1 8>&- &
  STARTED+=("$name")
}

start_all() {
  start etcd --name tier1 --data-dir "$RUN_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "tier1=http://127.0.0.1:$ETCD_PEER_PORT" --listen-metrics-urls "" --log-level warn
  wait_for "etcd /health" curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$ETCD_PORT/health"
  # No nodes run here: the endpoint reconciler would try to publish 127.0.0.1, which Endpoints reject.
  start kube-apiserver --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" --endpoint-reconciler-type none \
    --tls-cert-file "$RUN_DIR/pki/apiserver.crt" --tls-private-key-file "$RUN_DIR/pki/apiserver.key" \
    --client-ca-file "$RUN_DIR/pki/ca.crt" --token-auth-file "$RUN_DIR/tokens.csv" --authorization-mode Node,RBAC \
    --service-cluster-ip-range "$SERVICE_CIDR" --service-node-port-range "$NODE_PORT_RANGE" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$RUN_DIR/pki/sa.pub" --service-account-signing-key-file "$RUN_DIR/pki/sa.key" \
    --allow-privileged --profiling=false --v 1
  wait_for "kube-apiserver /readyz" api_ready
  start kube-controller-manager --kubeconfig "$RUN_DIR/controller-manager.kubeconfig" --secure-port 0 \
    --leader-elect=false --use-service-account-credentials --root-ca-file "$RUN_DIR/pki/ca.crt" \
    --service-account-private-key-file "$RUN_DIR/pki/sa.key" --service-cluster-ip-range "$SERVICE_CIDR" \
    --profiling=false --v 1
  # The controller-manager runs once it has made the `default` service account.
  wait_for "the default service account (kube-controller-manager)" api_get /api/v1/namespaces/default/serviceaccounts/default
  bind_viewer
}

api() { # method path [curl args...]: admin request; the token goes in a header file, not the command line
  local method="$1" path="$2"
  shift 2
  curl -sS --fail --max-time 5 --cacert "$RUN_DIR/pki/ca.crt" -H "@$RUN_DIR/admin-header" -X "$method" "$@" "$API$path"
}
api_get() { api GET "$1" >/dev/null 2>&1; }
api_ready() { [[ "$(api GET /readyz 2>/dev/null)" == ok ]]; }

bind_viewer() {
  local body='{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"tier1-viewer"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"view"},"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"tier1-viewer"}]}'
  api_get /apis/rbac.authorization.k8s.io/v1/clusterrolebindings/tier1-viewer && return 0
  api POST /apis/rbac.authorization.k8s.io/v1/clusterrolebindings -H 'Content-Type: application/json' -d "$body" >/dev/null
}

wait_for() { # description check-command...
  local what="$1" deadline=$((SECONDS + START_TIMEOUT)) name
  shift
  until "$@"; do
    for name in "${STARTED[@]}"; do
      if [[ -z "$(pid_of "$name")" ]]; then
        tail -n 20 "$RUN_DIR/$name.log" >&2
        die "$name exited while waiting for $what; log above (full log: $RUN_DIR/$name.log)"
      fi
    done
    ((SECONDS < deadline)) || die "timed out after ${START_TIMEOUT}s waiting for $what; logs in $RUN_DIR"
    sleep 0.5
  done
}

is_up() { local name; for name in "${COMPONENTS[@]}"; do [[ -n "$(pid_of "$name")" ]] || return 1; done; api_ready; }

up() {
  if is_up; then
    printf '%s\n' "$RUN_DIR/kubeconfig"
    return 0
  fi
  down_quietly
  "$HARNESS_DIR/k8s-build.sh" tier1
  local port
  for port in "$ETCD_PORT" "$ETCD_PEER_PORT" "$API_PORT"; do
    port_in_use "$port" && die "port 127.0.0.1:$port is taken by another program (ss -ltnp 'sport = :$port'); stop it and rerun"
  done
  mkdir -p "$RUN_DIR"
  chmod 700 "$RUN_DIR"
  make_certs
  make_tokens
  log "starting tier 1 (etcd, kube-apiserver, kube-controller-manager) in $RUN_DIR"
  trap 'down_quietly' ERR
  start_all
  trap - ERR
  printf '%s\n' "$RUN_DIR/kubeconfig"
}

# Gone: no such process, or every thread has exited and only init's reaping is left (a zombie).
gone() {
  local stat tasks
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
  tasks=("/proc/$1/task"/*)
  [[ "${stat##*) }" == Z* && ${#tasks[@]} -le 1 ]]
}

all_gone() { local pid; for pid in "$@"; do gone "$pid" || return 1; done; }

stop() { # component: TERM, then KILL what is left after 20 s
  local name="$1" pids i
  mapfile -t pids < <(pid_of "$name")
  ((${#pids[@]})) || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for ((i = 0; i < 200; i++)); do
    all_gone "${pids[@]}" && return 0
    sleep 0.1
  done
  log "$name (pid ${pids[*]}) ignored SIGTERM for 20s; killing it"
  kill -KILL "${pids[@]}" 2>/dev/null || true
}

down_quietly() {
  local i port
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do stop "${COMPONENTS[i]}"; done
  for port in "$ETCD_PORT" "$ETCD_PEER_PORT" "$API_PORT"; do
    for ((i = 0; i < 100; i++)); do port_in_use "$port" || continue 2; sleep 0.1; done
    die "port 127.0.0.1:$port is still listening 10s after tier 1 stopped (ss -ltnp 'sport = :$port')"
  done
  rm -rf "$RUN_DIR"
}

down() {
  down_quietly
  log "tier 1 is down; removed $RUN_DIR"
}

status() {
  local name pid rc=0
  for name in "${COMPONENTS[@]}"; do
    pid="$(pid_of "$name" | paste -sd ' ')"
    if [[ -n "$pid" ]]; then printf '%-24s running (pid %s)\n' "$name" "$pid"; else printf '%-24s stopped\n' "$name"; rc=1; fi
  done
  if api_ready; then printf '%-24s ok (%s)\nkubeconfig               %s\n' /readyz "$API" "$RUN_DIR/kubeconfig"; else printf '%-24s not ready\n' /readyz; rc=1; fi
  return "$rc"
}

# Up and down are serialised (pytest sessions of several people may share one machine).
locked() {
  mkdir -p "$(dirname "$RUN_DIR")"
  exec 8>"$RUN_DIR.lock"
  flock 8
  "$@"
}

STARTED=()
case "${1:-}" in
  up) locked up ;;
  down) locked down ;;
  status) status ;;
  *) die "usage: $0 up|down|status" ;;
esac
