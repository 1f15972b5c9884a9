#!/usr/bin/env bash
# After `make sam-build`: each function's bootstrap exists, is an executable for ARCH,
# and starts: without its configuration it names what is missing and exits non-zero
# (as tests/binaries.rs checks for the debug build). Prints each artifact's size.
# SAM_BUILD_DIR: where sam build put them (default .aws-sam/build).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ARCH=${ARCH:-arm64}
BUILD="$ROOT/${SAM_BUILD_DIR:-.aws-sam/build}"
case "$ARCH" in
  arm64) machine="ARM aarch64" ;;
  x86_64) machine="x86-64" ;;
  *) echo "ARCH=$ARCH: expected arm64 or x86_64" >&2; exit 1 ;;
esac
status=0
for fn in SchedulerFunction AccountSyncFunction; do
  bin="$BUILD/$fn/bootstrap"
  if [ ! -x "$bin" ]; then
    echo "sam-artifacts: $bin is missing" >&2; status=1; continue
  fi
  bytes=$(stat -c %s "$bin")
  if ! od -A n -t x1 -j 18 -N 2 "$bin" | grep -q "$([ "$ARCH" = x86_64 ] && echo '3e 00' || echo 'b7 00')"; then
    echo "sam-artifacts: $bin is not a $machine executable" >&2; status=1; continue
  fi
  if [ "$ARCH" != "$(uname -m | sed 's/aarch64/arm64/')" ]; then
    echo "sam-artifacts: $fn bootstrap ($machine, $bytes bytes) built; it cannot start on this $(uname -m) machine"
    continue
  fi
  set +e
  out=$(env -i PATH=/usr/bin:/bin timeout 10 "$bin" 2>&1)
  code=$?
  set -e
  if [ "$code" = 0 ] || ! grep -q "TABLE_NAME" <<<"$out"; then
    echo "sam-artifacts: $fn bootstrap did not name its missing configuration (exit $code):" >&2
    echo "$out" | head -5 >&2
    status=1; continue
  fi
  echo "sam-artifacts: $fn bootstrap ($machine, $bytes bytes) starts and names its missing configuration"
done
exit $status
