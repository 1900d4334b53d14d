#!/usr/bin/env bash
# One command: set everything up and run Relay on the embedded default
# (SQLite + local media folder under ./var, workers inside). Arguments go to `relay serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
infra/setup.sh
exec "${RELAY_VENV:-.venv}/bin/relay" serve "$@"
