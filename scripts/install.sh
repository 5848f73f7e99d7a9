#!/usr/bin/env bash
# Installs gridmesh on a farmer's host as a systemd service:
#   1. copies this checkout to --prefix (default /opt/gridmesh) and runs
#      scripts/setup.sh there (system packages, Node 24 runtime, npm deps);
#   2. links the CLI into --bin-dir (default /usr/local/bin);
#   3. writes --config-dir/gridmesh.yaml (default /etc/gridmesh) from the
#      commented template dist/gridmesh.example.yaml, only if it is absent,
#      filling in --mesh and --bootstrap; validates it with --check-config;
#   4. installs dist/gridmesh.service into --unit-dir (default
#      /etc/systemd/system) and, when systemd runs and --no-start is not
#      given, enables and starts it. Without systemd it says what it would
#      run and exits 0.
# Re-running is safe: the code is refreshed, an existing config is kept.
#
# usage: install.sh [--prefix DIR] [--config-dir DIR] [--unit-dir DIR] [--bin-dir DIR]
#                   [--mesh NAME] [--bootstrap HOST:PORT]... [--no-start] [--no-setup]
# --no-setup skips scripts/setup.sh (the runtime copied from this checkout is
# used as is; for tests and offline re-installs).
set -euo pipefail
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

PREFIX=/opt/gridmesh
CONFIG_DIR=/etc/gridmesh
UNIT_DIR=/etc/systemd/system
BIN_DIR=/usr/local/bin
MESH=""
BOOTSTRAP=()
START=1
SETUP=1

die () { echo "install: $*" >&2; exit 2; }
usage () { sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
need_value () { [[ $# -ge 2 && -n "$2" && "$2" != --* ]] || die "$1 needs a value (run with --help)"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --prefix) need_value "$@"; PREFIX="$2"; shift 2 ;;
    --config-dir) need_value "$@"; CONFIG_DIR="$2"; shift 2 ;;
    --unit-dir) need_value "$@"; UNIT_DIR="$2"; shift 2 ;;
    --bin-dir) need_value "$@"; BIN_DIR="$2"; shift 2 ;;
    --mesh) need_value "$@"; MESH="$2"; shift 2 ;;
    --bootstrap) need_value "$@"; BOOTSTRAP+=("$2"); shift 2 ;;
    --no-start) START=0; shift ;;
    --no-setup) SETUP=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option $1 (run with --help)" ;;
  esac
done
for d in "$PREFIX" "$CONFIG_DIR" "$UNIT_DIR" "$BIN_DIR"; do
  [[ "$d" == /* ]] || die "paths must be absolute: $d"
done
# Values end up in YAML: refuse anything that is not a plain token.
[[ -z "$MESH" || "$MESH" =~ ^[a-z0-9][a-z0-9._-]{0,62}$ ]] || die "invalid --mesh $MESH: 1-63 chars of a-z 0-9 . _ - starting with a letter or digit"
for b in "${BOOTSTRAP[@]}"; do
  [[ "$b" =~ ^[][A-Za-z0-9.:/_-]+$ ]] || die "invalid --bootstrap $b: expected HOST:PORT or a multiaddr"
done

# 1. code + runtime
if [[ "$(readlink -f "$PREFIX" 2>/dev/null || echo "$PREFIX")" != "$SRC" ]]; then
  echo "install: copying $SRC to $PREFIX"
  mkdir -p "$PREFIX"
  tar -C "$SRC" --exclude=./.git --exclude=./node_modules --exclude='*.log' -cf - . | tar -C "$PREFIX" -xf -
  # Reuse the checkout's installed dependencies (same lockfile, copied with it): offline and
  # fast. Skipped when the prefix already holds the same tree (npm's hidden lockfile matches).
  if [[ -x "$SRC/node_modules/.bin/node" ]] && ! cmp -s "$SRC/node_modules/.package-lock.json" "$PREFIX/node_modules/.package-lock.json"; then
    rm -rf "$PREFIX/node_modules"
    cp -a --reflink=auto "$SRC/node_modules" "$PREFIX/node_modules"
  fi
fi
if [[ $SETUP -eq 1 ]]; then
  bash "$PREFIX/scripts/setup.sh"
elif [[ ! -x "$PREFIX/node_modules/.bin/node" ]]; then
  die "--no-setup, but $PREFIX has no runtime (node_modules/.bin/node); run without --no-setup"
fi
GRIDMESH="$PREFIX/bin/gridmesh"
mkdir -p "$BIN_DIR"
ln -sfn "$GRIDMESH" "$BIN_DIR/gridmesh"

# 2. config: written once, never overwritten
CONFIG="$CONFIG_DIR/gridmesh.yaml"
if [[ -e "$CONFIG" ]]; then
  echo "install: keeping existing $CONFIG"
  [[ -z "$MESH" && ${#BOOTSTRAP[@]} -eq 0 ]] || echo "install: --mesh/--bootstrap ignored; edit $CONFIG to change them" >&2
else
  [[ -n "$MESH" ]] || die "--mesh NAME is required for a new install (no $CONFIG yet)"
  list=""
  for b in "${BOOTSTRAP[@]}"; do list+="${list:+, }\"$b\""; done
  mkdir -p "$CONFIG_DIR"
  tmp="$CONFIG.tmp"
  sed -e "s|^mesh: .*|mesh: $MESH|" -e "s|^bootstrap: .*|bootstrap: [$list]|" "$PREFIX/dist/gridmesh.example.yaml" > "$tmp"
  chmod 0640 "$tmp"
  mv "$tmp" "$CONFIG"
  echo "install: wrote $CONFIG (mesh $MESH, ${#BOOTSTRAP[@]} bootstrap node(s))"
fi
if ! "$GRIDMESH" up --config "$CONFIG" --check-config >/dev/null; then
  echo "install: $CONFIG is invalid (see above); fix it and re-run" >&2
  exit 2
fi
echo "install: $CONFIG is valid"

# 3. service
UNIT="$UNIT_DIR/gridmesh.service"
mkdir -p "$UNIT_DIR"
sed -e "s|/opt/gridmesh/bin/gridmesh|$GRIDMESH|g" -e "s|/opt/gridmesh/README.md|$PREFIX/README.md|" \
  -e "s|/etc/gridmesh/gridmesh.yaml|$CONFIG|g" "$PREFIX/dist/gridmesh.service" > "$UNIT"
chmod 0644 "$UNIT"
echo "install: installed $UNIT"

if [[ $START -eq 0 ]]; then
  echo "install: --no-start: not enabling the service; start it with: systemctl enable --now gridmesh"
elif [[ ! -d /run/systemd/system ]]; then
  echo "install: systemd is not running here; would run: systemctl daemon-reload && systemctl enable --now gridmesh"
else
  systemctl daemon-reload
  systemctl enable --now gridmesh
  echo "install: gridmesh is running (systemctl status gridmesh; gridmesh status)"
fi
