#!/usr/bin/env bash
# The least-privilege tests (tests/least_privilege.rs) on a test bed of their own whose
# authorizer denies whatever no ACL allows (STRAIT_TESTBED_LEAST_PRIVILEGE=1): brought up,
# used, and always brought down again. Its run folder and ports keep it apart from the
# ordinary test bed (override with STRAIT_LP_RUN, STRAIT_LP_SOURCE_PORT, STRAIT_LP_TARGET_PORT).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
started=$SECONDS
export STRAIT_TESTBED_RUN=${STRAIT_LP_RUN:-$PWD/testbed/run-lp}
export STRAIT_TESTBED_SOURCE_PORT=${STRAIT_LP_SOURCE_PORT:-19192}
export STRAIT_TESTBED_TARGET_PORT=${STRAIT_LP_TARGET_PORT:-29192}
export STRAIT_TESTBED_LEAST_PRIVILEGE=1
trap 'testbed/kafka.sh down || true; echo "[least-privilege] $((SECONDS - started)) s"' EXIT
testbed/kafka.sh up
cargo build --bins
cargo test --test least_privilege -- --ignored "$@"
