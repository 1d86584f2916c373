#!/usr/bin/env bash
# /healthz latency while the token endpoint is saturated with RS256, beside /healthz idle:
# what an orchestrator's liveness probe sees when a server is busy signing.
# Loopback only; every load run is bounded by DURATION and stops by itself.
# Needs: wrk (Debian: apt-get install -y wrk).
# Usage: bench/healthz_under_load.sh          (DURATION=10 seconds, CONNECTIONS=50, ALGORITHM=rs256)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-50}
ALGORITHM=${ALGORITHM:-rs256}
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

probe() { # name seconds url
  local out
  out=$(wrk -t1 -c1 -d"$2s" --latency "$3")
  if grep -q "Non-2xx" <<<"$out"; then echo "$1: /healthz failed:" >&2; echo "$out" >&2; exit 1; fi
  printf '%-36s p50 %-9s p99 %-9s (%s requests/s)\n' "$1" \
    "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")" \
    "$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
}

data=$work/data
created=$("$bin" clients --data-dir "$data" create --name bench --audience "$AUDIENCE" --json)
id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])' <<<"$created")
secret=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])' <<<"$created")
port=$(free_port)
"$bin" serve --data-dir "$data" --listen "127.0.0.1:$port" --algorithm "$ALGORITHM" >/dev/null 2>&1 &
pids+=($!)
url=http://127.0.0.1:$port
wait_for "$url/healthz"

echo "/healthz, one connection; token load: $CONNECTIONS connections, $ALGORITHM, $(nproc) cores, loopback"
probe "/healthz, server idle" "$DURATION" "$url/healthz"
BASIC=$(printf '%s:%s' "$id" "$secret" | base64 -w0) \
  wrk -t1 -c"$CONNECTIONS" -d"$((DURATION + 2))s" -s bench/token_post.lua "$url/oauth2/token" >"$work/load.txt" &
pids+=($!)
sleep 1
probe "/healthz, token endpoint saturated" "$DURATION" "$url/healthz"
wait "${pids[-1]}"
printf '%-36s %s tokens/s\n' "token endpoint meanwhile" "$(awk '/Requests\/sec/ {print $2}' "$work/load.txt")"
