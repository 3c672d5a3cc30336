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
# Built as scripts/test.sh builds it, so either script reuses the other's build.
cargo build "${CONCORD_BUILD_ARGS[@]}"

WORKSPACE="${CONCORD_WORKSPACE:-${XDG_DATA_HOME:-$HOME/.local/share}/concord-demo}"
export CONCORD_WORKSPACE="$WORKSPACE"
step "initialising the workspace $WORKSPACE"
"$CONCORD_BIN/concord" --workspace "$WORKSPACE" init

# ---- Provider sandboxes ----------------------------------------------------------------------
# One concord-sandbox process serves HubSpot, Shopify, Xero and QuickBooks on 127.0.0.1 in the
# background until this script ends (window closed, Ctrl-C or an error), so syncs and pushes from the
# app keep working. `concord demo` connects the workspace to it through the real connect path and
# syncs and matches it; it runs inside the same keychain session as the window, which then finds
# the tokens. Provider time runs 60x faster, so rate-limit windows (and token lifetimes) are short.
SANDBOX_READY="$CONCORD_TARGET/demo-sandbox.ready"
SANDBOX_LOG="$CONCORD_TARGET/demo-sandbox.log"
: >"$SANDBOX_READY"
step "starting the provider sandboxes (seed ${CONCORD_DEMO_SEED:-7}, ${CONCORD_DEMO_CUSTOMERS:-2000} customers; log in $SANDBOX_LOG)"
"$CONCORD_BIN/concord-sandbox" --seed "${CONCORD_DEMO_SEED:-7}" --customers "${CONCORD_DEMO_CUSTOMERS:-2000}" \
  --port 0 --time-scale 60 >"$SANDBOX_READY" 2>"$SANDBOX_LOG" &
SANDBOX_PID=$!
stop_sandbox() {
  kill -TERM "$SANDBOX_PID" 2>/dev/null || true
  wait "$SANDBOX_PID" 2>/dev/null || true
}
trap stop_sandbox EXIT
SANDBOX_ORIGIN=""
for _ in $(seq 1 600); do # its ready line (JSON on stdout) names the origin; up to 60 s
  SANDBOX_ORIGIN="$(sed -n 's|.*"origin":"\(http://127\.0\.0\.1:[0-9]*\)".*|\1|p' "$SANDBOX_READY")"
  [ -n "$SANDBOX_ORIGIN" ] && break
  if ! kill -0 "$SANDBOX_PID" 2>/dev/null; then
    echo "demo: concord-sandbox exited before it was ready; see $SANDBOX_LOG" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$SANDBOX_ORIGIN" ]; then
  echo "demo: concord-sandbox was not ready after 60 s; see $SANDBOX_LOG" >&2
  exit 1
fi
step "sandboxes ready at $SANDBOX_ORIGIN (they stop when the window closes)"
# Inside the keychain session: connect, sync and match, then open the window.
DEMO_SESSION=(bash -c '"$1" --workspace "$2" demo --sandbox-url "$3" && bash scripts/demo-window.sh "$2"'
  demo-session "$CONCORD_BIN/concord" "$WORKSPACE" "$SANDBOX_ORIGIN")
# ----------------------------------------------------------------------------------------------

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  step "no \$DISPLAY or \$WAYLAND_DISPLAY: opening the window in a virtual X display (Xvfb), which you cannot see"
  [ -n "${CONCORD_DEMO_SCREENSHOT:-}" ] || step "set CONCORD_DEMO_SCREENSHOT=shot.png to capture it; Ctrl-C stops the demo"
  # Not exec: the EXIT trap stops the sandbox after the window closes.
  status=0
  xvfb-run -a -s "$CONCORD_XVFB_SCREEN" dbus-run-session -- \
    bash scripts/keyring-session.sh "${DEMO_SESSION[@]}" || status=$?
  exit "$status"
fi
"${DEMO_SESSION[@]}"
