#!/usr/bin/env bash
# What `sam build` needs to build both functions for ARCH (arm64, the default, or
# x86_64; README "Deployment with SAM"), each missing piece named with the command that
# installs it. Exit 1 if any is missing. VENV overrides the tools' virtualenv (default
# .venv, filled by `make tools`: sam, cargo-lambda and zig all come from PyPI).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV=${VENV:-$ROOT/.venv}
ARCH=${ARCH:-arm64}
case "$ARCH" in
  arm64) target=aarch64-unknown-linux-gnu ;;
  # The host target of an x86_64 Linux machine: nothing to add.
  x86_64) target= ;;
  *) echo "ARCH=$ARCH: expected arm64 or x86_64" >&2; exit 1 ;;
esac
missing=()
[ -x "$VENV/bin/sam" ] || missing+=("sam (AWS SAM CLI): make tools")
[ -x "$VENV/bin/cargo-lambda" ] || missing+=("cargo-lambda: make tools")
if ! { [ -x "$VENV/bin/python-zig" ] && "$VENV/bin/python-zig" version >/dev/null 2>&1; } \
   && ! command -v zig >/dev/null 2>&1; then
  missing+=("zig (cargo-lambda cross-compiles with it): make tools installs it with cargo-lambda")
fi
if [ -n "$target" ] && ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  missing+=("the Rust target $target (ARCH=arm64): rustup target add $target, or build for x86_64: make sam-build ARCH=x86_64")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "sam build cannot run yet for $ARCH; missing:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 1
fi
echo "sam build prerequisites for $ARCH: sam, cargo-lambda, zig${target:+, $target} present"
