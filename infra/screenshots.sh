#!/usr/bin/env bash
# Screenshots of the main screens from a real server with a seeded team (docs/ by default).
# --all DIR: every screen at phone and desktop, light and dark, English and Dutch.
set -euo pipefail
cd "$(dirname "$0")/.."
infra/setup.sh --test >&2
exec .venv/bin/python -m tests.screens "$@"
