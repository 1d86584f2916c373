#!/usr/bin/env bash
# Tokens/s and p99 at 50 connections through the token endpoint, side by side in one run:
#   tokenbroker serve (RS256), tokenbroker serve (ES256), oidc-provider (RS256, Node).
# Loopback only; each load run is bounded by DURATION and stops by itself.
# Needs: wrk (Debian: apt-get install -y wrk), node + npm (for oidc-provider).
# Usage: bench/server_throughput.sh            (DURATION=10s CONNECTIONS=50 by default)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-50}
AUDIENCE=https://api.dev.entur.io
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
. bench/lib.sh   # builds the release binary ($bin); free_port, wait_for

load() { # name url basic
  local out
  out=$(BASIC="$3" wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/token_post.lua "$2")
  if grep -q "Non-2xx" <<<"$out"; then echo "$1: some token requests failed:" >&2; echo "$out" >&2; exit 1; fi
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  printf '%-28s %12s tokens/s   p99 %s\n' "$1" "$rps" "$p99"
}

tokenbroker() { # algorithm
  local data=$work/$1 port created id secret
  created=$("$bin" clients --data-dir "$data" create --name bench --audience "$AUDIENCE" --json)
  id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])' <<<"$created")
  secret=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])' <<<"$created")
  port=$(free_port)
  "$bin" serve --data-dir "$data" --listen "127.0.0.1:$port" --algorithm "$1" >/dev/null 2>&1 &
  pids+=($!)
  wait_for "http://127.0.0.1:$port/healthz"
  load "tokenbroker serve ($1)" "http://127.0.0.1:$port/oauth2/token" "$(printf '%s:%s' "$id" "$secret" | base64 -w0)"
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
}

oidc_provider() {
  local dir=$work/oidc-provider port secret=bench-secret-0123456789
  cp -r bench/oidc-provider "$dir"
  (cd "$dir" && npm install --silent --no-audit --no-fund >/dev/null 2>&1)
  port=$(free_port)
  (cd "$dir" && PORT=$port CLIENT_SECRET=$secret node server.mjs >/dev/null 2>&1) &
  pids+=($!)
  wait_for "http://127.0.0.1:$port/.well-known/openid-configuration"
  load "oidc-provider 8 (RS256)" "http://127.0.0.1:$port/token" "$(printf 'bench:%s' "$secret" | base64 -w0)"
}

echo "token endpoint, $CONNECTIONS connections, $DURATION each, $(nproc) cores, loopback"
tokenbroker rs256
tokenbroker es256
if command -v node >/dev/null; then oidc_provider; else echo "node is missing: oidc-provider skipped" >&2; fi
echo "raw single-process signing rate: cargo bench -p tokenbroker-server --bench signing"
