#!/usr/bin/env bash
# Two builds of `tokenbroker` side by side on the token endpoint: they take turns for ROUNDS
# rounds (so drift of a shared machine hits both), each on a fresh data dir, and the summary is
# each build's median tokens/s and their ratio. For measuring one change: build the commit
# before it and after it, copy each target/release/tokenbroker aside, and pass both.
# Loopback only; every load run is bounded by DURATION and stops by itself.
# Needs: wrk (Debian: apt-get install -y wrk).
# Usage: bench/ab_tokens.sh BEFORE_BINARY AFTER_BINARY
#        (ALGORITHM=es256 DURATION=8s CONNECTIONS=50 ROUNDS=3 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: $0 BEFORE_BINARY AFTER_BINARY" >&2; exit 2; }

ALGORITHM=${ALGORITHM:-es256}
DURATION=${DURATION:-8s}
CONNECTIONS=${CONNECTIONS:-50}
ROUNDS=${ROUNDS:-3}
. bench/lib.sh   # $work, $pids, free_port, wait_for, start_serve, token_load, …
need_wrk

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

echo "token endpoint, $ALGORITHM, $CONNECTIONS connections, $DURATION per run, $ROUNDS rounds, $(nproc) cores"
for round in $(seq 1 "$ROUNDS"); do
  for side in before after; do
    binary=$1; [ "$side" = after ] && binary=$2
    start_serve "$binary" "$ALGORITHM"
    token_load "$serve_url/oauth2/token" "$serve_basic" "$CONNECTIONS" "$DURATION"
    stop_serve
    printf 'round %s  %-6s %10s tokens/s   p99 %s ms\n' "$round" "$side" "$rps" "$p99_ms"
    echo "$rps" >>"$work/$side"
  done
done
before=$(median <"$work/before")
after=$(median <"$work/after")
printf 'median: before %s, after %s tokens/s: after/before = %s\n' "$before" "$after" \
  "$(awk -v a="$after" -v b="$before" 'BEGIN {printf "%.2f", a / b}')"
