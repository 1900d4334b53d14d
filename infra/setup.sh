#!/usr/bin/env bash
# Installs what Relay needs on this machine: Debian packages (when root) and a virtual
# environment in .venv (or $RELAY_VENV). `infra/setup.sh` for running, `infra/setup.sh --test` for
# tests (which also installs tus-js-client for tests/test_tus_interop.py into
# tests/interop/node_modules).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-run}
need_cmds=(ffmpeg ffprobe)
need_pkgs=(ffmpeg ffmpeg)  # one package per command above, in order
if [ "$mode" = "--test" ]; then
    need_cmds+=(swift-proxy-server swift-object-server swift-container-server swift-account-server swift-ring-builder memcached curl node npm)
    need_pkgs+=(swift swift-proxy swift-object swift-account swift-container memcached curl nodejs npm)
    # Test speech (espeak-ng), the browser for Playwright (chromium), syscall tracing of
    # ffmpeg on hostile input (strace), nginx and systemd-analyze to check
    # the deployment files.
    need_cmds+=(espeak-ng chromium strace nginx systemd-analyze)
    need_pkgs+=(espeak-ng chromium strace nginx systemd)
fi

missing=()
for i in "${!need_cmds[@]}"; do
    command -v "${need_cmds[$i]}" >/dev/null 2>&1 || missing+=("${need_pkgs[$i]}")
done
if [ "${#missing[@]}" -gt 0 ]; then
    # De-duplicate (several commands come from one package).
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing Debian packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "Relay needs these Debian packages; install them with:" >&2
        echo "  sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "Relay needs Python 3.11 or newer ($python is $("$python" --version 2>&1))" >&2
    exit 1
fi
venv=${RELAY_VENV:-.venv}
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"

extra=""
[ "$mode" = "--test" ] && extra="[test]"
stamp="$venv/.relay-installed$extra"
# Reinstall only when the dependencies changed: a second run is instant.
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -e ".$extra"
    touch "$stamp"
fi

if [ "$mode" = "--test" ]; then
    # tus-js-client for the interop test, exactly as locked; again only when the lock changed.
    npm_stamp=tests/interop/node_modules/.relay-installed
    if [ ! -f "$npm_stamp" ] || [ tests/interop/package-lock.json -nt "$npm_stamp" ]; then
        npm ci --prefix tests/interop --no-audit --no-fund
        touch "$npm_stamp"
    fi
fi
