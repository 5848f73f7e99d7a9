#!/usr/bin/env bash
# Installs gridmesh on a farmer's host as a systemd service:
#   1. copies this checkout to --prefix (default /opt/gridmesh) and runs
#      scripts/setup.sh there (system packages, Node 24 runtime, npm deps);
#   2. links the CLI into --bin-dir (default /usr/local/bin);
#   3. writes --config-dir/gridmesh.yaml (default /etc/gridmesh) from the
#      commented template dist/gridmesh.example.yaml, only if it is absent
#      (or with --force-config), filling in --mesh and --bootstrap; validates
#      it with --check-config, the same validation as `gridmesh up`;
#   4. installs dist/gridmesh.service into --unit-dir (default
#      /etc/systemd/system) and, when systemd runs and --no-start is not
#      given, enables and starts it. Without systemd it says what it would
#      run and exits 0.
# Re-running is safe: the code is refreshed, an existing config is kept (and
# checked first: an invalid one stops the install before anything is copied;
# --force-config replaces it, keeping the old file as gridmesh.yaml.old).
# Every argument is validated before anything is copied; a failure later on
# removes what this run created, so a failed install leaves nothing behind.
#
# usage: install.sh [--prefix DIR] [--config-dir DIR] [--unit-dir DIR] [--bin-dir DIR]
#                   [--mesh NAME] [--bootstrap HOST:PORT]... [--force-config] [--no-start] [--no-setup]
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
FORCE_CONFIG=0

die () { echo "install: $*" >&2; exit 2; }
usage () { sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
need_value () { [[ $# -ge 2 && -n "$2" && "$2" != --* ]] || die "$1 needs a value (run with --help)"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --prefix) need_value "$@"; PREFIX="$2"; shift 2 ;;
    --config-dir) need_value "$@"; CONFIG_DIR="$2"; shift 2 ;;
    --unit-dir) need_value "$@"; UNIT_DIR="$2"; shift 2 ;;
    --bin-dir) need_value "$@"; BIN_DIR="$2"; shift 2 ;;
    --mesh) need_value "$@"; MESH="$2"; shift 2 ;;
    --bootstrap) need_value "$@"; BOOTSTRAP+=("$2"); shift 2 ;;
    --force-config) FORCE_CONFIG=1; shift ;;
    --no-start) START=0; shift ;;
    --no-setup) SETUP=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option $1 (run with --help)" ;;
  esac
done

# 0. everything that can be checked is checked before anything is copied
for d in "$PREFIX" "$CONFIG_DIR" "$UNIT_DIR" "$BIN_DIR"; do
  [[ "$d" == /* ]] || die "paths must be absolute: $d"
done
# Values end up in YAML: refuse anything that is not a plain token.
[[ -z "$MESH" || "$MESH" =~ ^[a-z0-9][a-z0-9._-]{0,62}$ ]] || die "invalid --mesh $MESH: 1-63 chars of a-z 0-9 . _ - starting with a letter or digit"
for b in "${BOOTSTRAP[@]}"; do
  if [[ "$b" == /* ]]; then
    [[ "$b" =~ ^[][A-Za-z0-9.:/_-]+$ ]] || die "invalid --bootstrap $b: expected HOST:PORT or a multiaddr"
  else
    [[ "$b" =~ ^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$ ]] && (( 10#${BASH_REMATCH[2]} >= 1 && 10#${BASH_REMATCH[2]} <= 65535 )) ||
      die "invalid --bootstrap $b: expected HOST:PORT with a port 1-65535 (e.g. 203.0.113.7:7700; IPv6 as [addr]:port) or a multiaddr"
  fi
done
CONFIG="$CONFIG_DIR/gridmesh.yaml"
WRITE_CONFIG=1
if [[ -e "$CONFIG" && $FORCE_CONFIG -eq 0 ]]; then
  WRITE_CONFIG=0
else
  [[ -n "$MESH" ]] || die "--mesh NAME is required for a new install (no $CONFIG yet)"
fi
# The gridmesh that can check a config before the copy: this checkout's, or an earlier install's.
CHECKER=""
if [[ -x "$SRC/node_modules/.bin/node" ]]; then CHECKER="$SRC/bin/gridmesh"
elif [[ -x "$PREFIX/node_modules/.bin/node" && -x "$PREFIX/bin/gridmesh" ]]; then CHECKER="$PREFIX/bin/gridmesh"
fi
# check_config FILE: gridmesh's own --check-config (the same validation as `up`); prints its one-line error.
check_config () { "$1" up --config "$2" --check-config 2>&1 >/dev/null | sed 's/^/  /' >&2; return "${PIPESTATUS[0]}"; }
NEW_CONFIG=""
cleanup_tmp () { [[ -z "$NEW_CONFIG" ]] || rm -f "$NEW_CONFIG"; }
trap cleanup_tmp EXIT
if [[ $WRITE_CONFIG -eq 1 ]]; then
  NEW_CONFIG="$(mktemp "${TMPDIR:-/tmp}/gm-install-config.XXXXXX")"
  list=""
  for b in "${BOOTSTRAP[@]}"; do list+="${list:+, }\"$b\""; done
  sed -e "s|^mesh: .*|mesh: $MESH|" -e "s|^bootstrap: .*|bootstrap: [$list]|" "$SRC/dist/gridmesh.example.yaml" > "$NEW_CONFIG"
  if [[ -n "$CHECKER" ]] && ! check_config "$CHECKER" "$NEW_CONFIG"; then
    die "the config from --mesh/--bootstrap is invalid (see above); nothing was installed"
  fi
elif [[ -n "$CHECKER" ]] && ! check_config "$CHECKER" "$CONFIG"; then
  die "existing $CONFIG is invalid (see above); fix it, or re-run with --force-config --mesh NAME [--bootstrap HOST:PORT] to replace it (the old file is kept as $CONFIG.old); nothing was installed"
fi
[[ $WRITE_CONFIG -eq 0 && ( -n "$MESH" || ${#BOOTSTRAP[@]} -gt 0 ) ]] &&
  echo "install: --mesh/--bootstrap ignored: keeping existing $CONFIG (edit it, or re-run with --force-config to replace it)" >&2

# From here on, a failure removes what this run created.
CREATED=()
REPLACED_CONFIG=0
rollback () {
  local i
  for (( i=${#CREATED[@]}-1; i>=0; i-- )); do rm -rf -- "${CREATED[$i]}"; done
  [[ $REPLACED_CONFIG -eq 0 ]] || mv -f "$CONFIG.old" "$CONFIG"
  cleanup_tmp
  echo "install: failed; removed what this run installed" >&2
}
trap 'rc=$?; if [[ $rc -ne 0 ]]; then rollback; fi' EXIT
mkdir_tracked () { local d; for d in "$@"; do [[ -e "$d" ]] || { mkdir -p "$d"; CREATED+=("$d"); }; done; }

# 1. code + runtime
if [[ "$(readlink -f "$PREFIX" 2>/dev/null || echo "$PREFIX")" != "$SRC" ]]; then
  echo "install: copying $SRC to $PREFIX"
  mkdir_tracked "$PREFIX"
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
mkdir_tracked "$BIN_DIR"
[[ -e "$BIN_DIR/gridmesh" || -L "$BIN_DIR/gridmesh" ]] || CREATED+=("$BIN_DIR/gridmesh")
ln -sfn "$GRIDMESH" "$BIN_DIR/gridmesh"

# 2. config: written once (or replaced with --force-config), then checked by the installed gridmesh
if [[ $WRITE_CONFIG -eq 1 ]]; then
  mkdir_tracked "$CONFIG_DIR"
  if [[ -e "$CONFIG" ]]; then
    mv "$CONFIG" "$CONFIG.old"
    REPLACED_CONFIG=1
    echo "install: --force-config: kept the previous config as $CONFIG.old"
  else
    CREATED+=("$CONFIG")
  fi
  chmod 0640 "$NEW_CONFIG"
  mv "$NEW_CONFIG" "$CONFIG"
  NEW_CONFIG=""
  echo "install: wrote $CONFIG (mesh $MESH, ${#BOOTSTRAP[@]} bootstrap node(s))"
else
  echo "install: keeping existing $CONFIG"
fi
if ! check_config "$GRIDMESH" "$CONFIG"; then
  echo "install: $CONFIG is invalid (see above); fix it and re-run" >&2
  exit 2
fi
echo "install: $CONFIG is valid"

# 3. service
UNIT="$UNIT_DIR/gridmesh.service"
mkdir_tracked "$UNIT_DIR"
[[ -e "$UNIT" ]] || CREATED+=("$UNIT")
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
