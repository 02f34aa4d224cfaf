#!/usr/bin/env bash
# What the kind scripts share: the harness's binary paths and versions (scripts/k8s-paths.sh) and the
# names below. Source it after scripts/lib.sh; do not run it.
# shellcheck source=scripts/k8s-paths.sh
source "$REPO_ROOT/scripts/k8s-paths.sh"
KIND_NODE_IMAGE="hostreach/kind-node:$K8S_VERSION"
# The pod subnet of the cluster config and of the node's static bridge CNI config: they must agree.
KIND_POD_SUBNET=10.244.0.0/16
export KIND_NODE_IMAGE KIND_POD_SUBNET
