#!/usr/bin/env bash
# Opens the desktop window on a workspace, for scripts/demo.sh (which builds everything first and
# provides a display). With CONCORD_DEMO_SCREENSHOT=FILE it waits CONCORD_DEMO_WAIT seconds
# (default 10), saves the whole screen to FILE, closes the app with SIGTERM and exits; that is how a
# headless session checks that the window really opens.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/toolchain.sh
. "$ROOT/scripts/toolchain.sh"
concord_paths
WORKSPACE="$1"
APP=("$CONCORD_BIN/concord-desktop" --workspace "$WORKSPACE")

if [ -z "${CONCORD_DEMO_SCREENSHOT:-}" ]; then
  echo "demo: opening Concord on $WORKSPACE (close the window to stop)"
  exec "${APP[@]}"
fi

log="$CONCORD_TARGET/demo-app.log"
"${APP[@]}" >"$log" 2>&1 &
app=$!
wait_secs="${CONCORD_DEMO_WAIT:-10}"
echo "demo: app started (pid $app, output in $log); screenshot in $wait_secs s"
sleep "$wait_secs"
if ! kill -0 "$app" 2>/dev/null; then
  wait "$app" && rc=0 || rc=$?
  echo "demo: the app exited (status $rc) before the screenshot; its output:" >&2
  tail -n 30 "$log" >&2
  exit 1
fi
# /usr/bin/import is ImageMagick's; an `import` or `convert` elsewhere on PATH may be something else.
/usr/bin/import -window root "$CONCORD_DEMO_SCREENSHOT"
kill -TERM "$app" 2>/dev/null || true
wait "$app" 2>/dev/null || true
# A screen of one colour means no window was drawn.
spread="$(/usr/bin/convert "$CONCORD_DEMO_SCREENSHOT" -format '%[fx:standard_deviation]' info: 2>/dev/null || echo unknown)"
echo "demo: screenshot saved to $CONCORD_DEMO_SCREENSHOT (pixel spread $spread)"
if [ "$spread" = 0 ]; then
  echo "demo: the screenshot is one flat colour: no window was drawn" >&2
  exit 1
fi
