#!/usr/bin/env bash
# The gridmesh demo: a narrated tour on a fresh machine. Installs what is missing (setup.sh),
# then builds a lab of real hosts (network namespaces), runs real daemons in them and shows the
# mesh forming, rerouting around a cut link, and purging killed and leaving nodes.
#
#   sudo scripts/demo.sh [--hosts N] [--fast] [--keep]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Namespaces, nftables and wireguard-go all need root; failing here is clearer than halfway.
if [[ $(id -u) -ne 0 ]]; then
  echo "demo: must run as root (it creates network namespaces); try: sudo $0 $*" >&2
  exit 2
fi

bash scripts/setup.sh
# exec: the demo becomes this process, so Ctrl-C reaches it directly and it can clean up.
exec node_modules/.bin/node --import tsx scripts/demo.ts "$@"
