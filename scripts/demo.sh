#!/usr/bin/env bash
# Concord's one demo command: `bash scripts/demo.sh`.
#
# Installs the system packages, builds the UI, the desktop app and the CLI, initialises a demo
# workspace and opens the desktop window on it.
#   CONCORD_WORKSPACE=DIR         the workspace (default ${XDG_DATA_HOME:-$HOME/.local/share}/concord-demo)
#   CONCORD_DEMO_SCREENSHOT=FILE  instead of staying open: wait, save a PNG of the screen, close, exit
#   CONCORD_DEMO_WAIT=SECONDS     how long to wait before that screenshot (default 10)
# With no $DISPLAY and no $WAYLAND_DISPLAY (a headless machine), the window opens in a virtual X
# display (Xvfb) with its own session bus and a throwaway keyring; use CONCORD_DEMO_SCREENSHOT to see it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/toolchain.sh
. "$ROOT/scripts/toolchain.sh"
concord_paths
require_rust

step() { echo "demo: $*"; }

extra_pkgs=()
if [ -n "${CONCORD_DEMO_SCREENSHOT:-}" ]; then
  extra_pkgs+=(imagemagick)
  case "$CONCORD_DEMO_SCREENSHOT" in /*) ;; *) CONCORD_DEMO_SCREENSHOT="$PWD/$CONCORD_DEMO_SCREENSHOT" ;; esac
  export CONCORD_DEMO_SCREENSHOT
fi
step "checking system packages"
bash scripts/system-deps.sh "${extra_pkgs[@]}"
require_node

step "building the UI (ui/dist, embedded in the desktop binary)"
(
  cd ui
  # npm ci wipes node_modules; skip it when the installed tree already matches the lock file.
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund
  fi
  npm run build
)

step "building the desktop app and the CLI (with the UI embedded)"
# The whole workspace, as scripts/test.sh builds it, so either script reuses the other's build.
cargo build --workspace --bins --features "$CONCORD_CARGO_FEATURES"

WORKSPACE="${CONCORD_WORKSPACE:-${XDG_DATA_HOME:-$HOME/.local/share}/concord-demo}"
export CONCORD_WORKSPACE="$WORKSPACE"
step "initialising the workspace $WORKSPACE"
"$CONCORD_BIN/concord" --workspace "$WORKSPACE" init

# ---- Provider sandboxes ----------------------------------------------------------------------
# Later issues start the HubSpot, Shopify, Xero and QuickBooks sandboxes (target/debug/concord-sandbox)
# here, in the background, and point the workspace's connections at them; stop them in an EXIT trap.
# ----------------------------------------------------------------------------------------------

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  step "no \$DISPLAY or \$WAYLAND_DISPLAY: opening the window in a virtual X display (Xvfb), which you cannot see"
  [ -n "${CONCORD_DEMO_SCREENSHOT:-}" ] || step "set CONCORD_DEMO_SCREENSHOT=shot.png to capture it; Ctrl-C stops the demo"
  export NO_AT_BRIDGE=1 # no accessibility services on the private bus; nobody can use them there
  exec xvfb-run -a -s "$CONCORD_XVFB_SCREEN" dbus-run-session -- \
    bash scripts/keyring-session.sh bash scripts/demo-window.sh "$WORKSPACE"
fi
exec bash scripts/demo-window.sh "$WORKSPACE"
