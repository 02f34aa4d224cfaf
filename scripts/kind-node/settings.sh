#!/usr/bin/env bash
# Names shared by the kind scripts. Source it (after scripts/k8s-paths.sh); do not run it.
KIND_NODE_IMAGE="hostreach/kind-node:$K8S_VERSION"
# The pod subnet of the cluster config and of the node's static bridge CNI config: they must agree.
KIND_POD_SUBNET=10.244.0.0/16
export KIND_NODE_IMAGE KIND_POD_SUBNET
