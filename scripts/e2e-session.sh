#!/usr/bin/env bash
# Runs the end-to-end walk (the concord-e2e binary) with a throwaway unlocked keyring. It needs a
# display and a private session bus around it, which scripts/test.sh provides as
#   xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- bash scripts/e2e-session.sh
# Extra arguments go to concord-e2e (see `target/debug/concord-e2e --help`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/toolchain.sh
. "$ROOT/scripts/toolchain.sh"
concord_paths

if [ -z "${DISPLAY:-}" ] || [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
  echo "e2e-session: needs a display and a session bus; run it as" >&2
  echo "  xvfb-run -a dbus-run-session -- bash scripts/e2e-session.sh" >&2
  exit 2
fi
echo "e2e-session: display $DISPLAY"

exec bash "$ROOT/scripts/keyring-session.sh" "$CONCORD_BIN/concord-e2e" \
  --desktop "$CONCORD_BIN/concord-desktop" \
  --cli "$CONCORD_BIN/concord" \
  --tauri-driver "$CONCORD_TOOLS/bin/tauri-driver" \
  --screenshots "$CONCORD_TARGET/e2e-screenshots" \
  --logs "$CONCORD_TARGET/e2e-logs" \
  "$@"
