#!/usr/bin/env bash
# Benchmarks (not timed tests): prints one JSON document. Arguments go to the benchmark:
# none for uploads, media pipeline and transcription; `hotpaths` for wrk against the hot
# requests (and nginx in front), and tus ingest next to @tus/server; `live [--speed N]` for
# ready at stop: camera, voice and screen recordings uploaded as the recorder sends them (one
# PATCH per recorded second), next to today's after-the-fact path and bare ffmpeg. Lengths:
# RELAY_BENCH_LIVE_{CAMERA,VOICE,SCREEN}_SECONDS (default 120, 300, 1800; 0 skips one).
set -euo pipefail
cd "$(dirname "$0")/.."
infra/setup.sh --test >&2
if [ "${1:-}" = "hotpaths" ]; then
    missing=()
    command -v wrk >/dev/null 2>&1 || missing+=(wrk)
    command -v nginx >/dev/null 2>&1 || missing+=(nginx)
    if [ "${#missing[@]}" -gt 0 ]; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "installing Debian packages: ${missing[*]}" >&2
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
        else
            echo "the hotpaths benchmark needs: sudo apt-get install -y ${missing[*]}" >&2
            exit 1
        fi
    fi
    # @tus/server, the peer of the tus ingest figure, exactly as pinned.
    npm install --prefix tests/bench/tus_node --no-audit --no-fund --silent >&2
fi
exec "${RELAY_VENV:-.venv}/bin/python" -m tests.bench "$@"
