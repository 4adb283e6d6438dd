#!/usr/bin/env bash
# The fault suite: brings up a three-broker test bed of its own (ports 17092/27092, run folder
# testbed/run-faults, beside the default one-broker bed), runs every fault scenario against it
# (tests/faults.rs, plus the target-refusal scenarios of tests/target_rejects.rs), prints one
# row per scenario and brings the bed down again. Exit code 0 only when every scenario passed
# with nothing missing. Extra arguments go to the test binaries (e.g. a scenario name).
# STRAIT_FAULTS_LOGS=<dir> keeps every scenario's Strait logs and `strait verify` answer there;
# STRAIT_TEST_LOG sets the Strait processes' log filter; STRAIT_FAULTS_KEEP=1 leaves the bed up.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
export STRAIT_TESTBED_BROKERS=3
export STRAIT_TESTBED_RUN=${STRAIT_FAULTS_RUN:-$PWD/testbed/run-faults}
export STRAIT_TESTBED_SOURCE_PORT=${STRAIT_FAULTS_SOURCE_PORT:-17092}
export STRAIT_TESTBED_TARGET_PORT=${STRAIT_FAULTS_TARGET_PORT:-27092}
report=$(mktemp)
export STRAIT_FAULTS_REPORT=$report
keep=${STRAIT_FAULTS_KEEP:-}
cleanup() {
  [[ -n $keep ]] || testbed/kafka.sh down || true
  rm -f "$report"
}
trap cleanup EXIT

# A bed left from another layout is wiped; the fault bed holds nothing worth keeping.
testbed/kafka.sh up || { testbed/kafka.sh reset && testbed/kafka.sh up; }
cargo build --bins
export STRAIT_REQUIRE_TESTBED=1
status=0
for t in faults target_rejects; do
  cargo test --test "$t" -- --test-threads=1 "$@" || status=1
done

printf '\n%-44s %10s %8s %11s\n' scenario records missing duplicates
missing=0
n=0
while IFS=$'\t' read -r name records miss dups; do
  printf '%-44s %10s %8s %11s\n' "$name" "$records" "$miss" "$dups"
  missing=$((missing + miss))
  n=$((n + 1))
done <"$report"
echo "faults: $n scenarios, $missing missing"
((status == 0 && missing == 0 && n > 0))
