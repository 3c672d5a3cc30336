#!/usr/bin/env bash
# Runs the end-to-end walk (the concord-e2e binary) on the demo workspace with a throwaway unlocked
# keyring. It needs a display and a private session bus around it, which scripts/test.sh provides as
#   xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- bash scripts/e2e-session.sh
# It starts concord-sandbox (a small seeded business: CONCORD_E2E_CUSTOMERS, default 120), makes a
# demo workspace with `concord demo --sandbox-url` (connect, sync, match) inside the keyring session,
# and then walks the app on it; the sandbox stops when the walk ends. Reports the app exports go to
# target/e2e-reports (CONCORD_E2E_SAVE_DIR: the app saves there instead of opening the save dialog,
# which WebDriver cannot drive). Extra arguments go to concord-e2e (see `concord-e2e --help`).
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

LOGS="$CONCORD_TARGET/e2e-logs"
mkdir -p "$LOGS"
export CONCORD_E2E_SAVE_DIR="$CONCORD_TARGET/e2e-reports"
rm -rf "$CONCORD_E2E_SAVE_DIR"
mkdir -p "$CONCORD_E2E_SAVE_DIR"

# ---- the provider sandbox ----
READY="$LOGS/sandbox.ready"
: >"$READY"
"$CONCORD_BIN/concord-sandbox" --seed "${CONCORD_E2E_SEED:-7}" --customers "${CONCORD_E2E_CUSTOMERS:-120}" \
  --port 0 --time-scale 60 >"$READY" 2>"$LOGS/sandbox.log" &
SANDBOX_PID=$!
WORKSPACE="$(mktemp -d -t concord-e2e-demo.XXXXXX)"
stop() {
  kill -TERM "$SANDBOX_PID" 2>/dev/null || true
  wait "$SANDBOX_PID" 2>/dev/null || true
}
trap stop EXIT
ORIGIN=""
for _ in $(seq 1 300); do # up to 30 s
  ORIGIN="$(sed -n 's|.*"origin":"\(http://127\.0\.0\.1:[0-9]*\)".*|\1|p' "$READY")"
  [ -n "$ORIGIN" ] && break
  kill -0 "$SANDBOX_PID" 2>/dev/null || { echo "e2e-session: concord-sandbox exited; see $LOGS/sandbox.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$ORIGIN" ] || { echo "e2e-session: concord-sandbox not ready after 30 s" >&2; exit 1; }
echo "e2e-session: sandbox at $ORIGIN, demo workspace $WORKSPACE"

# ---- the demo workspace, then the walk, in one keyring session (the walk's app finds the tokens) ----
status=0
bash "$ROOT/scripts/keyring-session.sh" bash -c '
  set -e
  # A stream that fails in the demo'"'"'s first sync is reported here and again by the walk'"'"'s own
  # sync check; the walk still runs, so one provider'"'"'s fault does not hide every other check.
  if "$1" --workspace "$2" demo --sandbox-url "$3" >"$4/demo.log" 2>&1; then
    echo "e2e-session: demo workspace ready (log: $4/demo.log)"
  else
    echo "e2e-session: concord demo reported a failure (log: $4/demo.log):" >&2
    grep -E "FAILED|^error" "$4/demo.log" >&2 || tail -5 "$4/demo.log" >&2
  fi
  shift 4
  exec "$@"
' e2e-demo "$CONCORD_BIN/concord" "$WORKSPACE" "$ORIGIN" "$LOGS" \
  "$CONCORD_BIN/concord-e2e" \
  --desktop "$CONCORD_BIN/concord-desktop" \
  --cli "$CONCORD_BIN/concord" \
  --tauri-driver "$CONCORD_TOOLS/bin/tauri-driver" \
  --screenshots "$CONCORD_TARGET/e2e-screenshots" \
  --logs "$LOGS" \
  --workspace "$WORKSPACE" \
  --sandbox-url "$ORIGIN" \
  "$@" || status=$?
[ "$status" -eq 0 ] && rm -rf "$WORKSPACE"
exit "$status"
