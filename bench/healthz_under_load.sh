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
. bench/lib.sh   # $work, $pids, free_port, wait_for, start_serve, …
need_wrk
build_release

probe() { # name seconds url
  local out
  out=$(wrk -t1 -c1 -d"$2s" --latency "$3")
  if grep -q "Non-2xx" <<<"$out"; then echo "$1: /healthz failed:" >&2; echo "$out" >&2; exit 1; fi
  printf '%-36s p50 %-9s p99 %-9s (%s requests/s)\n' "$1" \
    "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")" \
    "$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
}

start_serve "$bin" "$ALGORITHM"
echo "/healthz, one connection; token load: $CONNECTIONS connections, $ALGORITHM, $(nproc) cores, loopback"
probe "/healthz, server idle" "$DURATION" "$serve_url/healthz"
BASIC=$serve_basic \
  wrk -t1 -c"$CONNECTIONS" -d"$((DURATION + 2))s" -s bench/token_post.lua "$serve_url/oauth2/token" >"$work/load.txt" &
pids+=($!)
sleep 1
probe "/healthz, token endpoint saturated" "$DURATION" "$serve_url/healthz"
wait "${pids[-1]}"
printf '%-36s %s tokens/s\n' "token endpoint meanwhile" "$(awk '/Requests\/sec/ {print $2}' "$work/load.txt")"
