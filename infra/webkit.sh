#!/usr/bin/env bash
# The main flows in Safari's engine (WebKitGTK over WebDriver, under Xvfb); prints JSON.
# Installs WebKitGTK's driver, Xvfb and the GStreamer codecs when missing (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
infra/setup.sh --test >&2
need=(webkit2gtk-driver xvfb gstreamer1.0-libav gstreamer1.0-plugins-good gstreamer1.0-plugins-bad)
if ! command -v WebKitWebDriver >/dev/null || ! command -v xvfb-run >/dev/null \
    || ! dpkg -s gstreamer1.0-libav gstreamer1.0-plugins-good gstreamer1.0-plugins-bad >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    else
        echo "install with: sudo apt-get install -y ${need[*]}" >&2
        exit 1
    fi
fi
exec xvfb-run -a .venv/bin/python -m tests.webkit "$@"
