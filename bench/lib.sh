# Helpers the side-by-side scripts share; sourced after `cd` to the repository root. Sourcing
# it makes a work directory ($work) and a list of background processes ($pids), both cleaned
# up on exit (after the script's own `cleanup_more`, if it defines one).

AUDIENCE=${AUDIENCE:-https://api.dev.entur.io}
# The agent's log filter in the proxy benchmarks: its default, less the per-request access line
# (nginx runs there with `access_log off`). AGENT_LOG=info keeps the line.
AGENT_LOG=${AGENT_LOG:-info,tokenbroker_agent::access=off}
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if declare -F cleanup_more >/dev/null; then cleanup_more; fi   # a script's own
  if [ -n "${pg_data:-}" ]; then as_pg "$pgbin/pg_ctl" -D "$pg_data" stop -m immediate >/dev/null 2>&1 || true; fi
  wait 2>/dev/null || true
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

# Loads a token endpoint with wrk (2 threads, 1 for one connection); sets rps and p99_ms. Stops on any failed request.
token_load() { # url basic connections duration
  local out
  # A 10 s timeout: a slow answer counts in the latency instead of as a socket error.
  out=$(BASIC="$2" wrk -t"$(( $3 < 2 ? $3 : 2 ))" -c"$3" -d"$4" --timeout 10s --latency -s bench/token_post.lua "$1")
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

# PostgreSQL refuses to run as root: run it as Debian's postgres user then.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# Starts a PostgreSQL server of its own on a free loopback port, stopped on exit; sets
# database_url and pgbin (where psql is).
start_postgres() {
  pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -x "$pgbin/initdb" ] || { echo "PostgreSQL is missing: apt-get install -y postgresql" >&2; exit 2; }
  local port dir=$work/pg
  port=$(free_port)
  chmod 755 "$work"
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
  as_pg "$pgbin/initdb" -D "$dir/data" -U tokenbroker --auth=trust -E UTF8 >/dev/null
  pg_data=$dir/data
  as_pg "$pgbin/postgres" -D "$pg_data" -p "$port" -k "$dir" -c listen_addresses=127.0.0.1 \
    -c max_connections=100 >"$dir.log" 2>&1 &
  pids+=($!)
  database_url="postgres://tokenbroker@127.0.0.1:$port/postgres"
  for _ in $(seq 1 100); do "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$port" && return 0; sleep 0.1; done
  echo "PostgreSQL did not come up: $(tail -3 "$dir.log")" >&2; exit 1
}

# The agent's configuration: profile `bench` (Basic, secret from $BENCH_SECRET) and one upstream
# `api`; any further lines go into the [agent] table.
agent_config() { # token_url client_id agent_port upstream_url [agent lines…]
  local token_url=$1 client_id=$2 agent_port=$3 upstream=$4
  shift 4
  cat <<CONF
[profiles.bench]
token_url = "$token_url"
auth_style = "basic"
client_id = "$client_id"
client_secret_env = "BENCH_SECRET"
audience = "$AUDIENCE"
client_name = "acme-bench"

[agent]
listen = "127.0.0.1:$agent_port"
$(printf '%s\n' "$@")
[[agent.upstreams]]
name = "api"
profile = "bench"
base_url = "$upstream"
CONF
}
