#!/usr/bin/env bash
# One command: set everything up (Debian packages, venv, Swift S3 server) and run the tests.
# PostgreSQL must listen on 127.0.0.1:5432 with trust auth (RELAY_TEST_PG_DSN overrides).
# Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
infra/setup.sh --test
infra/swift.sh start
exec .venv/bin/python -m pytest "$@"
