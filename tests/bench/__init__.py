"""Benchmarks of Relay's core path (not tests; pytest does not collect this folder).

`python -m tests.bench [--quick] [--s3]` prints one JSON document on stdout; progress goes
to stderr. See `infra/bench.sh`.
"""
