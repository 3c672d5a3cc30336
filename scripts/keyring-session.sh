#!/usr/bin/env bash
# Runs a command with a throwaway, unlocked gnome-keyring on the current session bus, so code that
# stores secrets through the Secret Service (the keyring crate) works headless, as in CI:
#   xvfb-run -a dbus-run-session -- bash scripts/keyring-session.sh COMMAND [ARGS...]
# The keyring lives in a temporary XDG_DATA_HOME (HOME stays, or rustup breaks), is created and
# unlocked with a fixed password (so no prompter is needed), is checked with a store-and-lookup
# probe, and is stopped and removed when the command ends. Exits with the command's status.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/toolchain.sh
. "$ROOT/scripts/toolchain.sh"
concord_paths
LOGS="$CONCORD_TARGET/e2e-logs"
mkdir -p "$LOGS"

if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
  echo "keyring-session: needs a session bus of its own; run it under dbus-run-session" >&2
  exit 2
fi
if [ "$#" -eq 0 ]; then
  echo "usage: bash scripts/keyring-session.sh COMMAND [ARGS...]" >&2
  exit 2
fi

bus_call() { # METHOD NAME: ask the bus itself about NAME
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    "org.freedesktop.DBus.$1" "string:$2" 2>/dev/null
}
secrets_owned() { bus_call NameHasOwner org.freedesktop.secrets | grep -q 'boolean true'; }

KEYRING_DATA="$(mktemp -d -t concord-keyring.XXXXXX)"
KEYRING_PID=""
cleanup() {
  # Stop the daemon by the pid the bus reports for its name (never by process name), with SIGTERM.
  if [ -n "$KEYRING_PID" ] && kill -0 "$KEYRING_PID" 2>/dev/null; then
    kill -TERM "$KEYRING_PID" 2>/dev/null || true
  fi
  rm -rf "$KEYRING_DATA"
}
trap cleanup EXIT

if secrets_owned; then
  echo "keyring-session: org.freedesktop.secrets is already owned on this bus; refusing to replace it" >&2
  exit 2
fi

export XDG_DATA_HOME="$KEYRING_DATA"
dbus-update-activation-environment ${DISPLAY:+DISPLAY} XDG_DATA_HOME
# The daemon forks; its stderr goes to a file so it can never hold the caller's pipe open.
eval "$(printf %s concord-throwaway | gnome-keyring-daemon --unlock --components=secrets 2>"$LOGS/gnome-keyring.log")"
export GNOME_KEYRING_CONTROL SSH_AUTH_SOCK

for _ in $(seq 1 50); do
  secrets_owned && break
  sleep 0.2
done
if ! secrets_owned; then
  echo "keyring-session: the keyring never took the name org.freedesktop.secrets; see $LOGS/gnome-keyring.log" >&2
  exit 1
fi
KEYRING_PID="$(bus_call GetConnectionUnixProcessID org.freedesktop.secrets | awk '/uint32/ {print $2}')"

# Prove the keyring stores and returns a secret before anything relies on it.
probe="probe-$$"
printf %s "$probe" | secret-tool store --label="concord keyring probe" service concord-keyring-probe username probe
if [ "$(secret-tool lookup service concord-keyring-probe username probe)" != "$probe" ]; then
  echo "keyring-session: the throwaway keyring did not return a stored secret" >&2
  exit 1
fi
echo "keyring-session: keyring unlocked (pid ${KEYRING_PID:-?}, data in $KEYRING_DATA)"

set +e
"$@"
status=$?
set -e
exit "$status"
