#!/usr/bin/env bash
# One benchmark report: runs every side-by-side benchmark and cost curve, bounded, on loopback,
# and writes bench/results/report.md with its tables and SVG charts (gnuplot), from one run.
#
# 1. floors: `openssl speed` (RSA-2048, P-256, Ed25519) and criterion benches of held-key
#    signing, the guard against raw held-key verification (and its cost with 0, 100,000 and
#    1,000,000 revocations and with 1, 10 and 64 keys), cached token() against the oauth2 crate;
# 2. the token endpoint: `serve` (RS256, ES256, EdDSA) against oidc-provider and the raw
#    signing rate, and tokens/s and p99 at 1, 10, 50, 200 and 1,000 connections;
# 3. registered clients: 10, 10,000 and 1,000,000 on SQLite and on PostgreSQL;
# 4. the agent: RSS and added p99 at 10, 100, 1,000 and 5,000 connections; against nginx;
# 5. the Redis-shared fleet: token requests at the AS for 1, 4, 16 and 64 processes starting
#    together;
# 6. /healthz latency while the token endpoint is saturated with RS256.
#
# Builds first (not counted); the runs then take about 10 minutes on 2 cores. Every load run is
# bounded by DURATION and stops by itself.
# Needs (Debian): apt-get install -y wrk gnuplot-nox nginx-light haproxy redis-server postgresql
#   openssl sqlite3; node + npm for oidc-provider (skipped without them).
# Usage: bench/report.sh                  (DURATION=5s by default)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5s}
for tool in wrk gnuplot nginx redis-server openssl sqlite3 curl python3; do
  command -v "$tool" >/dev/null || {
    echo "$tool is missing: apt-get install -y wrk gnuplot-nox nginx-light redis-server openssl sqlite3 curl python3" >&2
    exit 2
  }
done
. bench/lib.sh   # $work, $pids, free_port, wait_for, start_serve, token_load, start_postgres, …
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

out=bench/results
data=$out/data
mkdir -p "$data"
rm -f "$out"/*.svg
# FROM=N reruns sections N and later, keeping the earlier sections' data (a run stopped midway);
# TO=N stops after section N.
from=${FROM:-1} to=${TO:-6}
# Each section's run time is kept beside its data, so a partial rerun still reports the total.
running='' running_since=0
section_end() {
  [ -z "$running" ] || echo $((SECONDS - running_since)) >"$data/seconds_$running"
  running=''
}
section() { # number title files…: true when the section runs; its old data is removed then
  local number=$1 title=$2
  shift 2
  section_end
  [ "$number" -ge "$from" ] && [ "$number" -le "$to" ] || { echo "== $number. $title (kept from an earlier run)"; return 1; }
  echo "== $number. $title"
  for file in "$@"; do rm -f "$data/$file"; done
  running=$number running_since=$SECONDS
}

echo "== building (not counted)"
build_release
bin=$PWD/$bin
cargo build --release --locked -q -p tokenbroker --features redis --example redis_fleet
fleet_client=$PWD/target/release/examples/redis_fleet
cargo bench --locked -q -p tokenbroker-server --bench signing --no-run 2>/dev/null
cargo bench --locked -q -p tokenbroker-e2e --bench validation --bench token_source --bench guard_costs --no-run 2>/dev/null

# The median of a criterion benchmark, in nanoseconds.
criterion_ns() { # group/function
  python3 -c "import json; print(json.load(open('target/criterion/$1/new/estimates.json'))['median']['point_estimate'])"
}
criterion() { # cargo bench arguments…
  cargo bench --locked -q "$@" -- --warm-up-time 1 --measurement-time 3 --noplot >"$work/criterion.log" 2>&1 ||
    { cat "$work/criterion.log" >&2; exit 1; }
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
per_second() { awk -v ns="$1" 'BEGIN {printf "%.0f", 1e9 / ns}'; }

if section 1 floors openssl.tsv signing.tsv validation.tsv validation_paired.tsv token_source.tsv \
  guard_memory.tsv guard_revocations.tsv guard_keys.tsv; then
# OpenSSL 3.0's layout: sign/s and verify/s after the two times.
openssl speed -seconds 2 rsa2048 ecdsap256 ed25519 >"$work/openssl.txt" 2>/dev/null
{
  awk '/^rsa 2048 bits/ {print "rsa2048\t" $6 "\t" $7; exit}' "$work/openssl.txt"
  awk '/256 bits ecdsa \(nistp256\)/ {print "p256\t" $7 "\t" $8; exit}' "$work/openssl.txt"
  awk '/253 bits EdDSA \(Ed25519\)/ {print "ed25519\t" $7 "\t" $8; exit}' "$work/openssl.txt"
} >"$data/openssl.tsv"
criterion -p tokenbroker-server --bench signing
for alg in rs256 es256 eddsa; do
  printf '%s\t%s\t%s\n' "$alg" "$(criterion_ns "sign_access_token/${alg}_held_key")" \
    "$(criterion_ns "sign_access_token/${alg}_jsonwebtoken_encode")" >>"$data/signing.tsv"
done
criterion -p tokenbroker-e2e --bench validation
grep '^paired ' "$work/criterion.log" | sed 's/[a-z_]*=//g' | awk '{print $2 "\t" $3 "\t" $4}' >"$data/validation_paired.tsv"
for alg in rs256 es256; do
  for how in raw_held_key guard_verify guard_layer jsonwebtoken_decode; do
    printf '%s\t%s\t%s\n' "$alg" "$how" "$(criterion_ns "validate_$alg/$how")" >>"$data/validation.tsv"
  done
done
criterion -p tokenbroker-e2e --bench token_source
for id in cached/1_task cached/2_threads_64_tasks uncached/oauth2_crate uncached/tokenbroker_fetch; do
  printf '%s\t%s\n' "$id" "$(criterion_ns "$id")" >>"$data/token_source.tsv"
done
criterion -p tokenbroker-e2e --bench guard_costs
grep '^memory ' "$work/criterion.log" | sed 's/[a-z_]*=//g' | awk '{print $2 "\t" $3 "\t" $4}' >"$data/guard_memory.tsv"
for n in 0 100000 1000000; do
  printf '%s\t%s\n' "$n" "$(criterion_ns "guard_revocations/$n")" >>"$data/guard_revocations.tsv"
done
for n in 1 10 64; do
  printf '%s\t%s\n' "$n" "$(criterion_ns "guard_keys/$n")" >>"$data/guard_keys.tsv"
done
fi

if section 2 "the token endpoint" connections.tsv; then
oidc_url=
if command -v node >/dev/null && command -v npm >/dev/null; then
  dir=$work/oidc-provider
  cp -r bench/oidc-provider "$dir"
  (cd "$dir" && npm install --silent --no-audit --no-fund >/dev/null 2>&1)
  port=$(free_port)
  (cd "$dir" && PORT=$port CLIENT_SECRET=bench-secret-0123456789 exec node server.mjs >/dev/null 2>&1) &
  pids+=($!)
  oidc_url=http://127.0.0.1:$port
  oidc_basic=$(printf 'bench:%s' bench-secret-0123456789 | base64 -w0)
  wait_for "$oidc_url/.well-known/openid-configuration"
else
  echo "node/npm missing: oidc-provider skipped" >&2
fi
for alg in rs256 es256 eddsa; do
  start_serve "$bin" "$alg"
  for c in 1 10 50 200 1000; do
    token_load "$serve_url/oauth2/token" "$serve_basic" "$c" "$DURATION"
    printf '%s\t%s\t%s\t%s\n' "serve-$alg" "$c" "$rps" "$p99_ms" >>"$data/connections.tsv"
  done
  stop_serve
done
if [ -n "$oidc_url" ]; then
  for c in 1 10 50 200 1000; do
    token_load "$oidc_url/token" "$oidc_basic" "$c" "$DURATION"
    printf '%s\t%s\t%s\t%s\n' "oidc-provider-rs256" "$c" "$rps" "$p99_ms" >>"$data/connections.tsv"
  done
fi
fi

if section 3 "registered clients" clients.tsv; then
# Filler clients, each with one secret, written straight into the registry (creating them one by
# one through the CLI would take hours); the load authenticates one real client among them.
filler_sql() { # count, the dialect's series of 1..count as x
  cat <<SQL
INSERT INTO clients (client_id, name, audiences, scopes, lifetime_seconds, refresh_tokens, introspect, enabled, created_at, updated_at)
  SELECT 'filler-' || x, 'filler', '$AUDIENCE', '', NULL, 0, 0, 1, 0, 0 FROM $2;
INSERT INTO client_secrets (secret_id, client_id, kind, hash, created_at)
  SELECT 'filler-secret-' || x, 'filler-' || x, 'hmac-sha256', 'not-a-hash', 0 FROM $2;
SQL
}
basic_of() { # the JSON `clients create` printed: base64 of id:secret
  python3 -c 'import json,sys,base64; d=json.load(sys.stdin); print(base64.b64encode((d["client_id"] + ":" + d["client_secret"]).encode()).decode())' <<<"$1"
}
sqlite_series() { echo "(WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < $1) SELECT x FROM n)"; }
start_postgres
psql_run() { "$pgbin/psql" -q -v ON_ERROR_STOP=1 "$@" >/dev/null; }
for count in 10 10000 1000000; do
  # SQLite in the data dir.
  dir=$(mktemp -d -p "$work")/data
  created=$("$bin" clients --data-dir "$dir" create --name bench --audience "$AUDIENCE" --json)
  filler_sql "$count" "$(sqlite_series "$count")" | sqlite3 "$dir/registry.db"
  basic=$(basic_of "$created")
  port=$(free_port)
  "$bin" serve --data-dir "$dir" --listen "127.0.0.1:$port" --algorithm es256 >/dev/null 2>&1 &
  serve_pid=$!; pids+=("$serve_pid")
  wait_for "http://127.0.0.1:$port/healthz"
  token_load "http://127.0.0.1:$port/oauth2/token" "$basic" 50 "$DURATION"
  printf '%s\t%s\t%s\t%s\n' sqlite "$count" "$rps" "$p99_ms" >>"$data/clients.tsv"
  stop_serve
  # PostgreSQL, a database of its own.
  db=clients$count
  psql_run "$database_url" -c "CREATE DATABASE $db"
  url=${database_url%/postgres}/$db
  dir=$(mktemp -d -p "$work")/data
  created=$("$bin" clients --data-dir "$dir" --database-url "$url" create --name bench --audience "$AUDIENCE" --json)
  filler_sql "$count" "generate_series(1, $count) AS x" | psql_run "$url"
  # After a bulk load, as an operator would: otherwise autovacuum analyses the new rows during
  # the measurement, on the same two cores.
  psql_run "$url" -c "VACUUM ANALYZE"
  basic=$(basic_of "$created")
  port=$(free_port)
  "$bin" serve --data-dir "$dir" --database-url "$url" --issuer "http://127.0.0.1:$port" \
    --listen "127.0.0.1:$port" --algorithm es256 >/dev/null 2>&1 &
  serve_pid=$!; pids+=("$serve_pid")
  wait_for "http://127.0.0.1:$port/readyz"
  token_load "http://127.0.0.1:$port/oauth2/token" "$basic" 50 "$DURATION"
  printf '%s\t%s\t%s\t%s\n' postgresql "$count" "$rps" "$p99_ms" >>"$data/clients.tsv"
  stop_serve
done
fi

if section 4 "the agent" agent_connections.tsv agent_proxy.txt; then
upstream_port=$(free_port)
mkdir -p "$work/upstream"
cat >"$work/upstream.conf" <<CONF
daemon on;
pid $work/upstream.pid;
worker_processes 1;
error_log $work/upstream/error.log;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$upstream_port;
    location / { default_type application/json; return 200 '{"programs":[1,2,3]}'; }
  }
}
CONF
nginx -c "$work/upstream.conf" -p "$work/upstream"
cleanup_more() { [ -f "$work/upstream.pid" ] && kill "$(cat "$work/upstream.pid")" 2>/dev/null || true; }
wait_for "http://127.0.0.1:$upstream_port/"
start_serve "$bin" es256
client_id=$(base64 -d <<<"$serve_basic" | cut -d: -f1)
export BENCH_SECRET
BENCH_SECRET=$(base64 -d <<<"$serve_basic" | cut -d: -f2-)
agent_port=$(free_port)
agent_config "$serve_url/oauth2/token" "$client_id" "$agent_port" "http://127.0.0.1:$upstream_port" \
  "max_connections = 8192" >"$work/agent.toml"
RUST_LOG=$AGENT_LOG setsid "$bin" agent --config "$work/agent.toml" >/dev/null 2>&1 &
agent_pid=$!
pids+=("$agent_pid")
wait_for "http://127.0.0.1:$agent_port/readyz"
curl -fsS -o /dev/null "http://127.0.0.1:$agent_port/api/warm-up"
# One paced load of CONNECTIONS connections to URL for 9 s (`bench/paced.lua`: each connection
# pauses connections/10 ms, so together they offer about 10,000 requests/s), and a light probe
# (10 connections, about 1,000 requests/s) from its 3rd to its 7th second, when every connection
# is open and the load is steady. Prints the load's slowest answer (its opening burst: wrk sends
# every connection's first request the moment it connects), the load's achieved requests/s and
# the probe's p99, in ms, tab-separated.
paced_with_probe() { # url connections
  local load probe
  DELAY_MS=$(($2 / 10)) wrk -t2 -c"$2" -d9s --timeout 10s -s bench/paced.lua "$1" >"$work/load.txt" &
  load=$!
  sleep 3
  probe=$(DELAY_MS=10 wrk -t1 -c10 -d4s --timeout 10s --latency -s bench/paced.lua "$1")
  wait "$load"
  printf '%s\t%s\t%s\n' \
    "$(wrk_ms "$(awk '$1=="Latency" && $2!="Distribution" {print $4}' "$work/load.txt")")" \
    "$(awk '/Requests\/sec/ {print $2}' "$work/load.txt")" \
    "$(wrk_ms "$(awk '$1=="99%" {print $2}' <<<"$probe")")"
}
direct_url="http://127.0.0.1:$upstream_port/personalisation/v1/programs/1"
agent_url="http://127.0.0.1:$agent_port/api/personalisation/v1/programs/1"
for c in 10 100 1000 5000; do
  # A first, unmeasured load opens the agent's upstream connections (kept idle in its pools, as
  # in a long-running deployment), so the measured ones see only their callers' connections open.
  DELAY_MS=$((c / 10)) wrk -t2 -c"$c" -d3s -s bench/paced.lua "$agent_url" >/dev/null
  # Three rounds, direct and through the agent in turns: a probe's p99 moves by milliseconds
  # from one round to the next at 1,000 connections and more.
  for round in 1 2 3; do
    IFS=$'\t' read -r direct_burst _ direct_p99 < <(paced_with_probe "$direct_url" "$c")
    (sleep 5; awk '/VmRSS/ {print $2}' "/proc/$agent_pid/status" >"$work/rss") &
    rss_sampler=$!
    IFS=$'\t' read -r agent_burst agent_rps agent_p99 < <(paced_with_probe "$agent_url" "$c")
    wait "$rss_sampler"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$(cat "$work/rss")" "$direct_p99" "$agent_p99" \
      "$direct_burst" "$agent_burst" "$agent_rps" "$round" >>"$data/agent_connections.tsv"
  done
done
kill "$agent_pid"; stop_serve
ROUNDS=1 DURATION=$DURATION bench/agent_proxy.sh >"$data/agent_proxy.txt" 2>&1 || cat "$data/agent_proxy.txt" >&2
fi

if section 5 "the Redis-shared fleet" redis_fleet.tsv; then
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
for n in 1 4 16 64; do
  dir=$(mktemp -d -p "$work")/data
  created=$("$bin" clients --data-dir "$dir" create --name fleet --audience "$AUDIENCE" --json)
  port=$(free_port)
  "$bin" serve --data-dir "$dir" --listen "127.0.0.1:$port" --algorithm es256 --log-format json >"$work/fleet-$n.log" 2>&1 &
  serve_pid=$!; pids+=("$serve_pid")
  wait_for "http://127.0.0.1:$port/healthz"
  key=$(openssl rand -base64 32)
  client_pids=()
  for _ in $(seq 1 "$n"); do
    TOKEN_URL=http://127.0.0.1:$port/oauth2/token AUDIENCE=$AUDIENCE REDIS_URL=redis://127.0.0.1:$redis_port/$((n % 16)) \
      TOKENBROKER_CACHE_KEY=$key \
      CLIENT_ID=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])' <<<"$created") \
      CLIENT_SECRET=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])' <<<"$created") \
      "$fleet_client" >/dev/null 2>&1 &
    client_pids+=($!)
  done
  failed=0
  for pid in "${client_pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done
  requests=$(grep -c '"route":"/oauth2/token"' "$work/fleet-$n.log" || true)
  printf '%s\t%s\t%s\n' "$n" "$requests" "$failed" >>"$data/redis_fleet.tsv"
  stop_serve
done
fi

if section 6 "/healthz while RS256 saturates the token endpoint" healthz.txt; then
DURATION=${DURATION%s} bench/healthz_under_load.sh >"$data/healthz.txt"
fi
section_end
elapsed=$(cat "$data"/seconds_* 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')

echo "== charts"
# The agent's rounds, per connection count: medians, and the added p99's range.
python3 - "$data/agent_connections.tsv" >"$data/agent_medians.tsv" <<'PY'
import statistics, sys
rounds = {}
for line in open(sys.argv[1]):
    c, rss, direct, agent, direct_burst, agent_burst, rps, _ = line.split("\t")
    rounds.setdefault(int(c), []).append([float(x) for x in (rss, direct, agent, direct_burst, agent_burst, rps)])
for c, rs in sorted(rounds.items()):
    med = lambda i: statistics.median(r[i] for r in rs)
    added = [r[2] - r[1] for r in rs]
    print("\t".join(str(x) for x in (c, med(0), statistics.median(added), min(added), max(added),
                                      med(3), med(4), med(5), med(1), med(2))))
PY
plot() { # file title xlabel ylabel logx plot-commands
  gnuplot <<GP
set terminal svg size 640,400 font "sans,11" background rgb "white"
set output "$out/$1"
set title "$2"
set xlabel "$3"
set ylabel "$4"
set key top left
set grid
$( [ "$5" = logx ] && echo "set logscale x" )
set datafile separator "\t"
$6
GP
}
series() { # file name column-x column-y title
  echo "'< grep -P \"^$2\\t\" $data/$1' using $3:$4 with linespoints title '$5'"
}
plot connections_rate.svg "Token endpoint: tokens/s by connections" "connections" "tokens/s" logx \
  "plot $(series connections.tsv serve-es256 2 3 'serve ES256'), $(series connections.tsv serve-eddsa 2 3 'serve EdDSA'), $(series connections.tsv serve-rs256 2 3 'serve RS256'), $(series connections.tsv oidc-provider-rs256 2 3 'oidc-provider RS256')"
plot connections_p99.svg "Token endpoint: p99 by connections" "connections" "p99 (ms)" logx \
  "set logscale y; plot $(series connections.tsv serve-es256 2 4 'serve ES256'), $(series connections.tsv serve-eddsa 2 4 'serve EdDSA'), $(series connections.tsv serve-rs256 2 4 'serve RS256'), $(series connections.tsv oidc-provider-rs256 2 4 'oidc-provider RS256')"
plot clients.svg "Token endpoint (ES256, 50 connections) by registered clients" "registered clients" "tokens/s" logx \
  "set yrange [0:*]; set y2label 'p99 (ms)'; set y2tics; set y2range [0:*]; plot $(series clients.tsv sqlite 2 3 'SQLite tokens/s'), $(series clients.tsv postgresql 2 3 'PostgreSQL tokens/s'), '< grep -P \"^sqlite\\t\" $data/clients.tsv' using 2:4 axes x1y2 with linespoints dt 2 title 'SQLite p99', '< grep -P \"^postgresql\\t\" $data/clients.tsv' using 2:4 axes x1y2 with linespoints dt 2 title 'PostgreSQL p99'"
plot guard_revocations.svg "Guard (ES256): validations/s and memory by revoked tokens held" "revoked tokens" "validations/s" "" \
  "set yrange [0:*]; set y2label 'memory (MiB)'; set y2tics; set y2range [0:*]; set xtics ('0' 0, '100k' 100000, '1M' 1000000); plot '$data/guard_revocations.tsv' using 1:(1e9/\$2) with linespoints title 'validations/s', '< awk -F\"\\t\" \"\\\$2==1\" $data/guard_memory.tsv' using 1:(\$3/1024) axes x1y2 with linespoints dt 2 title 'memory (MiB)'"
plot guard_keys.svg "Guard (ES256): validations/s by keys in the JWKS" "keys" "validations/s" "" \
  "set yrange [0:*]; plot '$data/guard_keys.tsv' using 1:(1e9/\$2) with linespoints title 'validations/s'"
plot agent_connections.svg "Agent: RSS and added p99 by open connections (~10,000 requests/s)" "connections" "RSS (MiB)" logx \
  "set yrange [0:*]; set y2label 'added p99 (ms)'; set y2tics; set y2range [0:*]; plot '$data/agent_medians.tsv' using 1:(\$2/1024) with linespoints title 'agent RSS (MiB)', '' using 1:3:4:5 axes x1y2 with yerrorlines dt 2 title 'added p99, steady load (ms): median, range of 3 rounds'"
plot agent_burst.svg "Opening burst: every connection's first request at once" "connections" "slowest answer (ms)" logx \
  "set logscale y; plot '$data/agent_medians.tsv' using 1:7 with linespoints title 'through the agent', '' using 1:6 with linespoints title 'straight to nginx'"
plot redis_fleet.svg "Redis-shared fleet: token requests at the AS by processes starting together" "processes" "token requests" logx \
  "set yrange [0:*]; plot '$data/redis_fleet.tsv' using 1:2 with linespoints title 'token requests at the AS'"

echo "== report"
python3 bench/report.py "$data" "$elapsed" >"$out/report.md"
echo "wrote $out/report.md ($elapsed s of runs)"
