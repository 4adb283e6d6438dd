#!/usr/bin/env bash
# Runs Strait's whole test suite: brings the two-cluster Kafka test bed up (idempotent: kept if
# it already runs), resolves the Kubernetes API mock's jars, then runs every unit and
# integration test against them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
testbed/kafka.sh up
# The Kubernetes API mock's jars (tests/kubernetes_api.rs, tests/deploy.rs start the mock).
testbed/kube-api.sh fetch >/dev/null
cargo build --bins
# Integration tests fail, rather than skip, when the bed is missing.
export STRAIT_REQUIRE_TESTBED=1
cargo test --all-targets -- --test-threads="${STRAIT_TEST_THREADS:-4}" "$@"
