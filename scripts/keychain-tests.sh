#!/usr/bin/env bash
# The tests that need the real OS keychain: connecting through OAuth to a sandbox and checking the
# tokens landed in the Secret Service (cross-checked with secret-tool), the CLI's connect and the
# demo against a real keyring. scripts/test.sh runs this inside a private session bus:
#   dbus-run-session -- bash scripts/keyring-session.sh bash scripts/keychain-tests.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/toolchain.sh
. "$ROOT/scripts/toolchain.sh"
concord_paths

export CONCORD_KEYCHAIN_TEST=1
# Same workspace-wide features as the cargo-test stage, so its build is reused rather than redone.
cargo test --workspace --features "$CONCORD_CARGO_FEATURES" --no-fail-fast --test keychain --test connect --test demo \
  -- --skip eight_callers_share_one_refresh_at_a_time_over_a_long_run
# (That 70-second token-refresh soak uses no keychain and already ran in the cargo-test stage.)
