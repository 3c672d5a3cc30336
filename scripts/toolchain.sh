# Sourced by scripts/test.sh and scripts/demo.sh: checks the toolchains that system-deps.sh
# cannot install (Rust comes from rustup, per user), and names the folders the builds use.
# Nothing here downloads anything: a missing toolchain is explained, and the caller exits non-zero.

# The Rust version the workspace declares (rust-version in Cargo.toml).
CONCORD_MIN_RUST="1.90"
# Vite 8 needs Node.js 20.19 or newer.
CONCORD_MIN_NODE="20.19"

# version_at_least HAVE WANT: true when dotted version HAVE >= WANT.
version_at_least() {
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

# Fails with install instructions when cargo is missing or older than the workspace needs.
require_rust() {
  # rustup installs into ~/.cargo/bin, which a non-login shell (CI, cron, sudo) may not have on PATH.
  if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    cat >&2 <<EOF
concord: cargo was not found on PATH.
  Concord is written in Rust (${CONCORD_MIN_RUST} or newer). Install Rust with rustup, the official installer:
    see https://rustup.rs, which shows the one command to run for your system; on Linux that is
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh
  then open a new shell (or run: . "\$HOME/.cargo/env") and rerun this script.
  (Debian's own 'cargo' package is too old for this workspace.)
EOF
    return 1
  fi
  local have
  have="$(rustc --version 2>/dev/null | awk '{print $2}')"
  if [ -z "$have" ] || ! version_at_least "$have" "$CONCORD_MIN_RUST"; then
    cat >&2 <<EOF
concord: rustc ${have:-(unknown)} is older than ${CONCORD_MIN_RUST}, the version this workspace needs.
  Update it with: rustup update stable
EOF
    return 1
  fi
}

# Fails with instructions when Node.js is missing or too old for the UI's build tools.
# Run after system-deps.sh, which installs Debian's nodejs when no node is on PATH.
require_node() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "concord: node and npm were not found on PATH; scripts/system-deps.sh should have installed them." >&2
    return 1
  fi
  local have
  have="$(node --version | sed 's/^v//')"
  if ! version_at_least "$have" "$CONCORD_MIN_NODE"; then
    cat >&2 <<EOF
concord: Node.js ${have} is older than ${CONCORD_MIN_NODE}, which the UI's build tools (Vite 8) need.
  Install a newer Node.js (for example Node.js 22 from your distribution's backports, or with nvm),
  make sure it is first on PATH, and rerun.
EOF
    return 1
  fi
}

# Absolute paths of the folders the scripts share; honours CARGO_TARGET_DIR like cargo does.
concord_paths() {
  CONCORD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  local target="${CARGO_TARGET_DIR:-target}"
  case "$target" in /*) ;; *) target="$CONCORD_ROOT/$target" ;; esac
  CONCORD_TARGET="$target"
  CONCORD_BIN="$target/debug"
  CONCORD_TOOLS="$target/tools"
}

# Cargo features for every build that produces the desktop binary. Without tauri/custom-protocol
# (which `tauri build` adds) Tauri builds in dev mode: the window loads tauri.conf.json's devUrl
# (a Vite dev server) instead of serving the ui/dist it embeds, and shows "connection refused".
# Tests use the same features so their build of the workspace is reused, not redone.
CONCORD_CARGO_FEATURES="tauri/custom-protocol"
# How scripts build the workspace's binaries. `--tests` is there for the dependency features, not the
# tests: with a test target selected, cargo unifies dev-dependency features into every dependency,
# exactly as `cargo test`/nextest do, so the binaries reuse the test build's artifacts. Without it,
# tokio, hyper and dozens more are compiled a second time with fewer features (measured: minutes).
CONCORD_BUILD_ARGS=(--workspace --bins --tests --features "$CONCORD_CARGO_FEATURES")

# The Xvfb screen: xvfb-run's default is 640x480 at 8 bits, too small and too few colours
# for screenshots a person can read.
CONCORD_XVFB_SCREEN="-screen 0 1280x800x24"
