#!/usr/bin/env bash
# Runs a command with the local stack up and its environment loaded. Starts the
# stack if it is not running, and stops it afterwards only if it started it here
# (a stack left up by `make demo` or `make stack-up` stays up).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
started_here=0
if ! "$ROOT/infra/local/stack.sh" status | grep -q 'dynamodb: running' \
   || ! "$ROOT/infra/local/stack.sh" status | grep -q 'moto: running'; then
  started_here=1
fi
cleanup() { [ "$started_here" = 1 ] && "$ROOT/infra/local/stack.sh" down || true; }
trap cleanup EXIT
"$ROOT/infra/local/stack.sh" up
# shellcheck disable=SC1091
. "$ROOT/.local/stack.env"
"$@"
