#!/usr/bin/env bash
# Runs Strait's whole test suite: brings the two-cluster Kafka test bed up (idempotent: kept if
# it already runs), then runs every unit and integration test against it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
testbed/kafka.sh up
cargo build --bins
cargo test --all-targets -- --test-threads="${STRAIT_TEST_THREADS:-4}" "$@"
