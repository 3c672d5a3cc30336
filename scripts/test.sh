#!/usr/bin/env bash
# Concord's one test command: `bash scripts/test.sh`, on a fresh Debian/Ubuntu machine and in CI.
#
# Stages, in order (a stage whose prerequisite failed is reported as skipped, and counts as failed):
#   system-deps   apt packages (scripts/system-deps.sh; idempotent)
#   ui-build      npm ci + npm run build in ui/ (the desktop binary embeds ui/dist)
#   ui-test       npm test in ui/ (vitest)
#   datasets      the Febrl record-linkage benchmarks for the matching tests (scripts/datasets.sh; PyPI)
#   cargo-test    every workspace crate's tests, src-tauri included (nextest if present) + doctests
#   keychain      the tests that need the real OS keychain (scripts/keychain-tests.sh), throwaway keyring
#   build         every binary of the workspace: the desktop app, the CLI, the e2e driver, the sandboxes
#   tauri-driver  cargo install --locked tauri-driver into target/tools (skipped when present)
#   e2e           the app walked over WebDriver inside Xvfb + a private session bus + a throwaway keyring
# Each stage runs under `timeout`, logs to target/test-logs/<stage>.log, and reports its seconds.
# The last line is `total: N passed, N failed` (tests counted by their runners, plus one failure for
# each failed stage that reported no failing test itself); the exit status is non-zero if any stage failed.
#
# Environment: CONCORD_STAGES="ui-build cargo-test" runs only those stages (for local iteration).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/toolchain.sh
. "$ROOT/scripts/toolchain.sh"
concord_paths
LOG_DIR="$CONCORD_TARGET/test-logs"

# ---- the stages' bodies; each runs in its own `bash scripts/test.sh --stage NAME` under timeout ----

stage_system-deps() {
  bash scripts/system-deps.sh
}

stage_ui-build() {
  require_node
  cd ui
  npm ci --no-audit --no-fund
  npm run build
  test -f dist/index.html || { echo "ui build wrote no dist/index.html, which the desktop binary embeds" >&2; exit 1; }
}

stage_ui-test() {
  cd ui
  npm test
}

stage_datasets() {
  bash scripts/datasets.sh
}

stage_cargo-test() {
  # system-deps installed LibreOffice Calc, so the report test that opens CSVs in it must not skip.
  export CONCORD_REQUIRE_SOFFICE=1
  # datasets exported the Febrl benchmarks, so the matching tests on them must not skip.
  export CONCORD_REQUIRE_FEBRL=1
  if cargo nextest --version >/dev/null 2>&1; then
    local rc=0
    cargo nextest run --workspace --features "$CONCORD_CARGO_FEATURES" --no-fail-fast || rc=$?
    # nextest does not run doctests; run them even when a test above failed, to report both.
    cargo test --workspace --features "$CONCORD_CARGO_FEATURES" --doc --no-fail-fast || rc=$?
    return "$rc"
  else
    cargo test --workspace --features "$CONCORD_CARGO_FEATURES" --no-fail-fast
  fi
}

stage_build() {
  cargo build "${CONCORD_BUILD_ARGS[@]}"
  for bin in concord-desktop concord concord-e2e concord-sandbox; do
    test -x "$CONCORD_BIN/$bin" || { echo "expected binary $CONCORD_BIN/$bin was not built" >&2; exit 1; }
  done
}

stage_tauri-driver() {
  local bin="$CONCORD_TOOLS/bin/tauri-driver"
  if [ -x "$bin" ] && "$bin" --help >/dev/null 2>&1; then
    echo "tauri-driver already installed at $bin"
    return 0
  fi
  # ^2: tauri-driver 3 is in alpha, and its major follows Tauri's.
  cargo install --locked tauri-driver --version '^2' --root "$CONCORD_TOOLS"
}

stage_keychain() {
  dbus-run-session -- bash scripts/keyring-session.sh bash scripts/keychain-tests.sh
}

stage_e2e() {
  rm -rf "$CONCORD_TARGET/e2e-screenshots"
  xvfb-run -a -s "$CONCORD_XVFB_SCREEN" dbus-run-session -- bash scripts/e2e-session.sh
}

if [ "${1:-}" = "--stage" ]; then
  "stage_$2"
  exit 0
fi

# ---- the driver ----

require_rust
mkdir -p "$LOG_DIR"

STAGES=(system-deps ui-build ui-test datasets cargo-test keychain build tauri-driver e2e)
declare -A LIMIT=(
  [system-deps]=20m [ui-build]=15m [ui-test]=10m [datasets]=10m [cargo-test]=50m [keychain]=20m [build]=30m [tauri-driver]=15m [e2e]=10m
)
declare -A NEEDS=(
  [ui-test]="ui-build" [cargo-test]="ui-build datasets" [keychain]="ui-build" [build]="ui-build" [e2e]="build tauri-driver"
)
declare -A STATUS=() SECS=() PASSED=() FAILED=()
SELECTED=" ${CONCORD_STAGES:-${STAGES[*]}} "

# sum_counts LOG LINE_REGEX WORD: adds up every "N WORD" on the log's lines matching LINE_REGEX
# (colour codes removed first). Prints 0 when nothing matches.
sum_counts() {
  sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$1" | awk -v lr="$2" -v w="$3" '
    $0 ~ lr { for (i = 1; i < NF; i++) if ($i ~ /^[0-9]+$/ && $(i + 1) ~ ("^" w)) s += $i }
    END { print s + 0 }'
}

# count_tests STAGE LOG: sets PASSED[STAGE] and FAILED[STAGE] from the runners' own summary lines:
#   vitest:          "      Tests  2 failed | 10 passed (12)"
#   nextest:         "     Summary [   3.2s] 40 tests run: 38 passed, 2 failed, 0 skipped"
#   cargo test:      "test result: ok. 5 passed; 0 failed; 0 ignored; ..."
#   concord-e2e:     "e2e: 9 passed, 0 failed"
count_tests() {
  local stage=$1 log=$2 lines
  case "$stage" in
    ui-test) lines='^ *Tests +[0-9]' ;;
    cargo-test) lines='^ *Summary \\[|^test result:' ;;
    keychain) lines='^test result:' ;;
    e2e) lines='^e2e: [0-9]+ passed, [0-9]+ failed' ;;
    *) PASSED[$stage]=0; FAILED[$stage]=0; return ;;
  esac
  PASSED[$stage]=$(sum_counts "$log" "$lines" passed)
  FAILED[$stage]=$(sum_counts "$log" "$lines" failed)
}

run_stage() {
  local stage=$1 log="$LOG_DIR/$1.log" need start rc
  for need in ${NEEDS[$stage]:-}; do
    # A prerequisite left out by CONCORD_STAGES is taken as done (its output is already there).
    if [[ "$SELECTED" == *" $need "* ]] && [ "${STATUS[$need]:-}" != ok ]; then
      STATUS[$stage]="skipped (needs $need)"; SECS[$stage]=0; PASSED[$stage]=0; FAILED[$stage]=0
      echo "==> stage $stage: skipped, because stage $need did not pass"
      return
    fi
  done
  echo "==> stage $stage (time limit ${LIMIT[$stage]}) $(date -u +%H:%M:%S)"
  start=$SECONDS
  set +e
  # timeout signals the whole process group of the stage; -k follows up if TERM is ignored.
  timeout -k 30s "${LIMIT[$stage]}" bash "$ROOT/scripts/test.sh" --stage "$stage" </dev/null 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  SECS[$stage]=$((SECONDS - start))
  count_tests "$stage" "$log"
  case $rc in
    0) STATUS[$stage]=ok ;;
    124|137) STATUS[$stage]="FAILED (timed out after ${LIMIT[$stage]})" ;;
    *) STATUS[$stage]="FAILED (exit $rc)" ;;
  esac
  echo "==> stage $stage: ${STATUS[$stage]} in ${SECS[$stage]} s"
}

total_start=$SECONDS
for stage in "${STAGES[@]}"; do
  if [[ "$SELECTED" == *" $stage "* ]]; then
    run_stage "$stage"
  fi
done

echo
echo "==> summary (logs in $LOG_DIR)"
all_passed=0 all_failed=0 any_bad=0
for stage in "${STAGES[@]}"; do
  [ -n "${STATUS[$stage]:-}" ] || continue
  p=${PASSED[$stage]} f=${FAILED[$stage]}
  tests=""
  case "$stage" in ui-test|cargo-test|e2e) tests="$p tests passed, $f tests failed" ;; esac
  printf 'stage %-13s %-34s %5s s  %s\n' "$stage" "${STATUS[$stage]}" "${SECS[$stage]}" "$tests"
  all_passed=$((all_passed + p))
  all_failed=$((all_failed + f))
  if [ "${STATUS[$stage]}" != ok ]; then
    any_bad=1
    # A stage that failed without a failing test (a build error, a timeout) still counts once.
    [ "$f" -gt 0 ] || all_failed=$((all_failed + 1))
  fi
done
echo "stage times (s): $(for s in "${STAGES[@]}"; do [ -n "${STATUS[$s]:-}" ] && printf '%s=%s ' "$s" "${SECS[$s]}"; done)total=$((SECONDS - total_start))"
if [ -n "${STATUS[e2e]:-}" ] && [ -d "$CONCORD_TARGET/e2e-screenshots" ]; then
  echo "e2e screenshots: $CONCORD_TARGET/e2e-screenshots"
fi
echo "total: $all_passed passed, $all_failed failed"
exit "$any_bad"
