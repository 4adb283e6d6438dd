#!/usr/bin/env bash
# Installs what building and testing Strait needs on a fresh Debian machine: a C toolchain,
# cmake and the headers librdkafka builds against, a JDK with keytool, Maven, openssl, and
# Chromium for the dashboard's browser test.
# Installs nothing that is already there.
set -euo pipefail
need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
for p in build-essential cmake pkg-config libssl-dev zlib1g-dev libzstd-dev libcurl4-openssl-dev \
  python3 openssl maven chromium; do
  have_pkg "$p" || need+=("$p")
done
command -v java >/dev/null && command -v keytool >/dev/null || need+=(openjdk-17-jdk-headless)
if ((${#need[@]})); then
  echo "[install-deps] installing: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "[install-deps] cargo not found: install Rust (rustup)" >&2; exit 1; }
