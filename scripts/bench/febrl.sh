#!/usr/bin/env bash
# The matching-quality bench: Concord and splink on the Febrl deduplication data sets (febrl1-3),
# the same records and fields, in the same run; one line per matcher and data set with precision,
# recall, F1 and time. febrl4 is reserved for an independent check and is never used.
#   bash scripts/bench/febrl.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/toolchain.sh
. "$ROOT/scripts/toolchain.sh"
concord_paths
bash scripts/datasets.sh --splink
DATA="$CONCORD_TARGET/datasets/febrl"
cargo build --release -q -p concord-match --example febrl
CONCORD_FEBRL_DIR="$DATA" "$CONCORD_TARGET/release/examples/febrl" "$@"
"$CONCORD_TOOLS/pyenv/bin/python" scripts/bench/febrl_splink.py "$DATA" 2>&1 | grep -v -i warn
