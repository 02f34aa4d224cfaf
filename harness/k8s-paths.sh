#!/usr/bin/env bash
# Where the harness's pinned binaries live. Source it (after lib.sh); do not run it.
# Versions come from harness/versions.env; every path is keyed by version under $HOSTREACH_CACHE.
# Nothing is exported: etcd reads every ETCD_* environment variable as a flag.
# shellcheck disable=SC2034  # used by the scripts that source this file
# shellcheck source=harness/versions.env
source "$HARNESS_DIR/versions.env"
K8S_BIN="$HOSTREACH_CACHE/k8s/$K8S_VERSION/bin"
ETCD_BIN="$HOSTREACH_CACHE/etcd/$ETCD_VERSION/bin"
KIND_BIN="$HOSTREACH_CACHE/kind/$KIND_VERSION/bin"
PAUSE_BIN="$HOSTREACH_CACHE/pause/$PAUSE_VERSION/pause"
COREDNS_BIN="$HOSTREACH_CACHE/coredns/$COREDNS_VERSION/coredns"
