#!/usr/bin/env bash
# Builds Strait's release binary and checks it: exactly the steps the container image's build
# stage runs (deploy/Dockerfile), so CI can prove them without a container engine.
#
#   deploy/build.sh [OUT_DIR]          build, check, install OUT_DIR/strait (default target/deploy)
#   STRAIT_BIN=path deploy/build.sh    skip the build, check that binary (used by the tests)
#
# Checks: a built release binary is under 40 MiB without debug info; the binary runs; it links only libraries the runtime image has (Debian bookworm-slim
# plus libssl3); it reads the seed's flow configuration as deploy/kustomize/base carries it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
target=${CARGO_TARGET_DIR:-target}
out=${1:-$target/deploy}

if [[ -n "${STRAIT_BIN:-}" ]]; then
  bin=$STRAIT_BIN
else
  echo "[build] cargo build --release --locked" >&2
  cargo build --release --locked --bin strait
  bin=$target/release/strait
  # The shipped binary carries symbols but no DWARF (Cargo.toml's release profile): ~21 MB.
  size=$(stat -c %s "$bin")
  echo "[build] check: size $((size / 1048576)) MiB, no debug info" >&2
  if (( size > 40 * 1048576 )) || readelf -S "$bin" | grep -q '\.debug_info'; then
    echo "[build] the release binary is over 40 MiB or carries debug info: check [profile.release]" >&2
    exit 1
  fi
fi

echo "[build] check: runs" >&2
"$bin" --version

echo "[build] check: shared libraries" >&2
allowed='^(linux-vdso|linux-gate|libz|libssl|libcrypto|libgcc_s|libm|libc|libpthread|libdl|librt|ld-linux[-a-z0-9_]*)\.so'
unexpected=$(ldd "$bin" | awk '{print $1}' | sed 's|.*/||' | grep -Ev "$allowed" || true)
if [[ -n "$unexpected" ]]; then
  echo "[build] the binary needs libraries the runtime image lacks: $unexpected" >&2
  exit 1
fi

echo "[build] check: reads the seed's flow configuration" >&2
seed=tests/fixtures/seed
"$bin" validate -f "$seed/kafka-connect.yaml" -f "$seed/connectors.yaml" \
  -f "$seed/uswest-config.yaml" -f "$seed/useast-config.yaml" -f "$seed/replication-config.yaml" \
  -f "$seed/uswest-secret.yaml" -f "$seed/useast-cert.yaml" -f "$seed/useast-password.yaml" >/dev/null

mkdir -p "$out"
install -m 0755 "$bin" "$out/strait"
echo "[build] $out/strait" >&2
