#!/usr/bin/env bash
# Screenshots of the main screens from a real server with a seeded team (docs/ by default).
# --all DIR: every screen at phone and desktop, light and dark, English and Dutch.
set -euo pipefail
cd "$(dirname "$0")/.."
infra/setup.sh --test >&2
# Reactions are emoji: without a colour emoji font they would show as empty boxes.
if ! fc-list 2>/dev/null | grep -qi "emoji"; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-color-emoji >/dev/null
    else
        echo "for emoji in the screenshots: sudo apt-get install -y fonts-noto-color-emoji" >&2
    fi
fi
exec .venv/bin/python -m tests.screens "$@"
