#!/usr/bin/env bash
# Benchmark variant (c): the shell loop a user writes, one `kubectl patch` per Service.
# Usage: kubectl_loop.sh KUBECTL KUBECONFIG CONTEXT NAMESPACE
set -euo pipefail
kubectl=("$1" --kubeconfig "$2" --context "$3" --namespace "$4")
for service in $("${kubectl[@]}" get services -o name); do
  "${kubectl[@]}" patch "$service" -p '{"spec":{"type":"NodePort"}}'
done
