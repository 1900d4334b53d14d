#!/usr/bin/env bash
# Benchmarks (not timed tests): prints one JSON document. Arguments go to the benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
infra/setup.sh --test >&2
exec .venv/bin/python -m tests.bench "$@"
