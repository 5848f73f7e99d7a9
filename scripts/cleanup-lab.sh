#!/usr/bin/env bash
# Destroys EVERY gridmesh lab on this machine: leftovers of a crashed or SIGKILLed test run.
#
#   root netns
#     ├── gm1a2b3c-hub, gm1a2b3c-h1 .. hN    <- lab namespaces (ip netns list)  ─┐
#     ├── gm9f8e7d-hub, ...                                                       ├─ lab.sh destroy <id>
#     └── /tmp/gridmesh-lab/<id>/            <- state dirs, logs (GRIDMESH_LAB_ROOT) ─┘
#
# A lab is recognised by its id (^gm[0-9a-z]{1,6}$) in a namespace name or a state dir name.
# Destroying kills every process in the lab's namespaces (daemons, wireguard-go, keepers),
# deletes the namespaces (with their veths, bridges and TUNs) and the state dir.
# CAUTION: this includes labs of test runs still in progress. `--dry-run` only lists.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../netns/lab.sh
source "$ROOT/netns/lab.sh"

dry=0
[[ "${1:-}" == --dry-run ]] && dry=1

ids=$(
  {
    ip netns list 2>/dev/null | awk '{print $1}' | sed -nE 's/^(gm[0-9a-z]{1,6})-(hub|h[0-9]+)$/\1/p'
    if [[ -d "$LAB_ROOT" ]]; then
      find "$LAB_ROOT" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | grep -E "$LAB_ID_RE" || true
    fi
  } | sort -u
)

if [[ -z "$ids" ]]; then echo "cleanup-lab: no labs"; exit 0; fi
for id in $ids; do
  if (( dry )); then echo "cleanup-lab: would destroy $id"; continue; fi
  echo "cleanup-lab: destroying $id"
  lab_destroy "$id"
done
