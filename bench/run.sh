#!/usr/bin/env bash
# Strait vs the real MirrorMaker 2 on the test bed: catch-up, steady-state latency and the
# target's own ingest limit, every replica then proven equal with `strait verify`. Appends a
# Markdown table to BENCHMARKS.md and writes a chart to bench/results/<run>/chart.png.
#
#   bench/run.sh [--quick] [--eos [--eos-interval-ms MS]] [--topics N] [--partitions P]
#                [--records N] [--value-size B]
#                [--rate R] [--seconds S] [--rounds K] [--mm2-tasks T] [--keep] [--note TEXT]
#                [--profile | --profile-only] [--strait-only] [--strait-conf KEY=VALUE ...]
#
# Defaults (4 topics × 4 partitions, 2M records of 1 KiB, 5000 records/s for 120 s) take about
# ten minutes on 2 cores; --quick (2 × 2, 150k records, 2000 records/s for 10 s) about two.
# --eos also runs both with exactly-once on (four variants, about twice as long).
# STRAIT_BIN / BENCH_BIN skip building (use given binaries); STRAIT_MM2_HEAP sets MM2's heap.
# See bench/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
CACHE=${STRAIT_CACHE:-$HOME/.cache/strait}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$CACHE/target}

# MM2 with tasks.max = 16 runs out of the test bed's default 1 GiB heap (each task has its own
# producer with a 32 MiB buffer); 2 GiB is enough at the default sizes.
export STRAIT_MM2_HEAP=${STRAIT_MM2_HEAP:-2g}

bash "$ROOT/testbed/kafka.sh" up

if [[ -z ${STRAIT_BIN:-} || -z ${BENCH_BIN:-} ]]; then
  (cd "$ROOT" && cargo build --release --bin strait --example bench)
fi
STRAIT_BIN=${STRAIT_BIN:-$CARGO_TARGET_DIR/release/strait}
BENCH_BIN=${BENCH_BIN:-$CARGO_TARGET_DIR/release/examples/bench}

# matplotlib for the chart, in a venv of its own outside the clone.
VENV=$CACHE/bench-venv
if ! "$VENV/bin/python" -c 'import matplotlib' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet matplotlib
fi

# --profile / --profile-only: perf (Debian's linux-perf) and inferno's flamegraph tools.
if [[ " $* " == *" --profile"* ]]; then
  command -v perf >/dev/null || { echo "bench: --profile needs perf (apt-get install linux-perf)" >&2; exit 1; }
  if ! command -v inferno-flamegraph >/dev/null; then
    cargo install --locked --root "$CACHE/tools" inferno@0.12.8
  fi
  export PATH="$CACHE/tools/bin:$PATH"
fi

exec "$VENV/bin/python" "$HERE/bench.py" --strait-bin "$STRAIT_BIN" --bench-bin "$BENCH_BIN" "$@"
