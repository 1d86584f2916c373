# Helpers the side-by-side scripts share; sourced after `cd` to the repository root. Sourcing
# it makes a work directory ($work) and a list of background processes ($pids), both cleaned
# up on exit (after the script's own `cleanup_more`, if it defines one).

AUDIENCE=${AUDIENCE:-https://api.dev.entur.io}
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if declare -F cleanup_more >/dev/null; then cleanup_more; fi   # a script's own
  rm -rf "$work"
}
trap cleanup EXIT

# Builds the release binary (a no-op when it is current) and names it $bin.
build_release() {
  cargo build --release --locked -q -p tokenbroker-cli
  bin=target/release/tokenbroker
}

# Stops unless wrk is installed.
need_wrk() {
  command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
}

# A free loopback port.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Waits (at most 10 s) until URL answers 2xx.
wait_for() { # url
  for _ in $(seq 1 100); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "server at $1 did not come up" >&2; exit 1
}

# Starts `BIN serve` on a fresh data dir with one registered client, signing with ALGORITHM;
# sets serve_url, serve_basic (base64 of id:secret, for token_post.lua) and serve_pid.
start_serve() { # bin algorithm [more serve arguments]
  local bin=$1 algorithm=$2 data created id secret port
  shift 2
  data=$(mktemp -d -p "$work")/data
  created=$("$bin" clients --data-dir "$data" create --name bench --audience "$AUDIENCE" --json)
  id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])' <<<"$created")
  secret=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])' <<<"$created")
  port=$(free_port)
  "$bin" serve --data-dir "$data" --listen "127.0.0.1:$port" --algorithm "$algorithm" "$@" >/dev/null 2>&1 &
  serve_pid=$!
  pids+=("$serve_pid")
  serve_url=http://127.0.0.1:$port
  serve_basic=$(printf '%s:%s' "$id" "$secret" | base64 -w0)
  wait_for "$serve_url/healthz"
}

# Stops the server start_serve started.
stop_serve() {
  kill "$serve_pid" 2>/dev/null || true
  wait "$serve_pid" 2>/dev/null || true
}

# Loads a token endpoint with wrk (2 threads); sets rps and p99_ms. Stops on any failed request.
token_load() { # url basic connections duration
  local out
  out=$(BASIC="$2" wrk -t2 -c"$3" -d"$4" --latency -s bench/token_post.lua "$1")
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
    echo "$1: some token requests failed:" >&2; echo "$out" >&2; exit 1
  fi
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99_ms=$(wrk_ms "$(awk '$1=="99%" {print $2}' <<<"$out")")
}

# A wrk latency ("812.00us", "4.51ms", "1.02s") in milliseconds.
wrk_ms() { # latency
  awk -v t="$1" 'BEGIN {
    if (t ~ /us$/) { sub(/us$/, "", t); printf "%.3f", t / 1000 }
    else if (t ~ /ms$/) { sub(/ms$/, "", t); printf "%.3f", t }
    else if (t ~ /s$/) { sub(/s$/, "", t); printf "%.3f", t * 1000 }
    else { printf "nan" } }'
}
