#!/usr/bin/env bash
# Installs what gridmesh needs on a fresh Debian machine, and nothing that is
# already there: system packages (with --no-install-recommends, because
# wireguard-tools would otherwise pull a kernel) and the npm dependencies,
# which include the Node 24 runtime itself (package "node").
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# package -> a file it provides (checked instead of dpkg, so hand installs count too)
declare -A NEED=(
  [wireguard-go]=/usr/bin/wireguard-go
  [wireguard-tools]=/usr/bin/wg
  [nftables]=/usr/sbin/nft
  [iproute2]=/usr/sbin/ip
  [iputils-ping]=/usr/bin/ping
  [iperf3]=/usr/bin/iperf3
  [util-linux]=/usr/bin/setpriv
  [procps]=/usr/bin/pkill
  [graphviz]=/usr/bin/dot
)
missing=()
for pkg in "${!NEED[@]}"; do
  [[ -x "${NEED[$pkg]}" ]] || missing+=("$pkg")
done
if (( ${#missing[@]} > 0 )); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing packages ${missing[*]}; run as root (apt-get)" >&2; exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -c /dev/net/tun ]]; then
  mkdir -p /dev/net && mknod /dev/net/tun c 10 200 && chmod 0666 /dev/net/tun
fi

# npm dependencies: reinstall only when the lockfile changed since the last
# install (a copy of it is kept as a stamp; npm's own hidden lockfile has
# another format). npm ci wipes node_modules, so never run it needlessly.
STAMP=node_modules/.gridmesh-lock
if ! cmp -s package-lock.json "$STAMP" 2>/dev/null || [[ ! -x node_modules/.bin/node ]]; then
  echo "setup: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$STAMP"
fi
# One bundled file (scripts/build.sh): a daemon then loads neither a
# TypeScript stripper nor ~1,000 separate modules. bin/gridmesh falls back to
# the sources when they are newer than the build, so a stale build never runs.
if [[ ! -f build/.stamp ]] || [[ -n "$(find src package-lock.json -newer build/.stamp -print -quit)" ]]; then
  echo "setup: bundling src/ to build/gridmesh.mjs"
  bash "$ROOT/scripts/build.sh"
fi
"$ROOT/node_modules/.bin/node" -e 'if (typeof Promise.withResolvers !== "function") { console.error("setup: the Node runtime lacks Promise.withResolvers"); process.exit(1) }'
echo "setup: ok (node $("$ROOT/node_modules/.bin/node" --version), $(wg --version | head -1))"
