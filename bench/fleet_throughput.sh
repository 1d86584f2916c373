#!/usr/bin/env bash
# Tokens/s and p99 of the token endpoint, side by side in one run: one `serve` node on SQLite,
# one node on PostgreSQL, and three nodes on that PostgreSQL behind haproxy (TCP round robin).
# Every node runs on this machine's cores, so three nodes share them: the figures show what a
# shared registry and a load balancer cost, not how a fleet scales across machines.
# Loopback only; each load run is bounded by DURATION and stops by itself.
# Needs: wrk, haproxy, PostgreSQL's initdb/postgres (apt-get install -y wrk haproxy postgresql).
# Usage: bench/fleet_throughput.sh     (DURATION=10s CONNECTIONS=50 ALGORITHM=es256 by default)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-50}
ALGORITHM=${ALGORITHM:-es256}
for tool in wrk haproxy curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install -y wrk haproxy curl python3" >&2; exit 2; }
done
. bench/lib.sh   # $work, $pids, free_port, wait_for, start_postgres, token_load, …
build_release
bin=$PWD/$bin
start_postgres
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

load() { # name url basic
  token_load "$2" "$3" "$CONNECTIONS" "$DURATION"
  printf '%-40s %12s tokens/s   p99 %s ms\n' "$1" "$rps" "$p99_ms"
}

node() { # data-dir port [serve options...]
  local data=$1 port=$2; shift 2
  "$bin" serve --data-dir "$data" --listen "127.0.0.1:$port" --algorithm "$ALGORITHM" "$@" >"$data.log" 2>&1 &
  pids+=($!)
  wait_for "http://127.0.0.1:$port/readyz"
}

client() { # registry options...
  local created
  created=$("$bin" clients "$@" create --name bench --audience "$AUDIENCE" --json)
  printf '%s:%s' "$(json_field client_id <<<"$created")" "$(json_field client_secret <<<"$created")" | base64 -w0
}

echo "token endpoint, $ALGORITHM, $CONNECTIONS connections, $DURATION each, $(nproc) cores, loopback"

# 1. One node, SQLite in its data directory.
port=$(free_port)
basic=$(client --data-dir "$work/sqlite")
node "$work/sqlite" "$port"
load "1 node, SQLite" "http://127.0.0.1:$port/oauth2/token" "$basic"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

# 2. One node on PostgreSQL; its pepper and KEK are then copied to two more nodes.
lb_port=$(free_port)
issuer="http://127.0.0.1:$lb_port"
ports=()
for n in 1 2 3; do ports+=("$(free_port)"); done
basic=$(client --data-dir "$work/node1" --database-url "$database_url")
node "$work/node1" "${ports[0]}" --database-url "$database_url" --issuer "$issuer"
load "1 node, PostgreSQL" "http://127.0.0.1:${ports[0]}/oauth2/token" "$basic"

# 3. Three nodes on PostgreSQL behind haproxy.
for n in 2 3; do
  mkdir -m 700 "$work/node$n"
  install -m 600 "$work/node1/pepper" "$work/node1/kek" "$work/node$n/"
  node "$work/node$n" "${ports[$((n - 1))]}" --database-url "$database_url" --issuer "$issuer"
done
cat >"$work/haproxy.cfg" <<CFG
global
  maxconn 4096
defaults
  mode tcp
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend tokens
  bind 127.0.0.1:$lb_port
  default_backend nodes
backend nodes
  balance roundrobin
  server n1 127.0.0.1:${ports[0]} check
  server n2 127.0.0.1:${ports[1]} check
  server n3 127.0.0.1:${ports[2]} check
CFG
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
pids+=($!)
wait_for "$issuer/healthz"
load "3 nodes, PostgreSQL, haproxy" "$issuer/oauth2/token" "$basic"
