#!/usr/bin/env bash
# What the kind scripts share: the harness's binary paths and versions (harness/k8s-paths.sh) and the
# names below. Source it after harness/lib.sh; do not run it.
# shellcheck source=harness/k8s-paths.sh
source "$HARNESS_DIR/k8s-paths.sh"
KIND_NODE_IMAGE="hostreach/kind-node:$K8S_VERSION"
# kind's own defaults for networking.podSubnet and networking.serviceSubnet; harness/kind.sh up takes
# others per cluster. The node image holds no subnet: its hostreach-cni service reads the Node's podCIDR.
KIND_DEFAULT_POD_SUBNET=10.244.0.0/16
KIND_DEFAULT_SERVICE_SUBNET=10.96.0.0/16
export KIND_NODE_IMAGE KIND_DEFAULT_POD_SUBNET KIND_DEFAULT_SERVICE_SUBNET
