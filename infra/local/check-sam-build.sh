#!/usr/bin/env bash
# What `sam build` needs to build both functions for arm64 (README "Deployment with
# SAM"), each missing piece named with the command that installs it. Exit 1 if any is
# missing. VENV overrides the tools' virtualenv (default .venv, filled by `make tools`).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV=${VENV:-$ROOT/.venv}
missing=()
[ -x "$VENV/bin/sam" ] || missing+=("sam (AWS SAM CLI): make tools")
[ -x "$VENV/bin/cargo-lambda" ] || missing+=("cargo-lambda: make tools")
if ! { [ -x "$VENV/bin/python-zig" ] && "$VENV/bin/python-zig" version >/dev/null 2>&1; } \
   && ! command -v zig >/dev/null 2>&1; then
  missing+=("zig (cargo-lambda cross-compiles with it): make tools installs it with cargo-lambda")
fi
if ! rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
  missing+=("the Rust target aarch64-unknown-linux-gnu (the functions run on arm64): rustup target add aarch64-unknown-linux-gnu")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "sam build cannot run yet; missing:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 1
fi
echo "sam build prerequisites: sam, cargo-lambda, zig, aarch64-unknown-linux-gnu present"
