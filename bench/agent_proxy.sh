#!/usr/bin/env bash
# Requests/s and p99 at 50 connections, side by side in one run:
#   direct to the upstream · nginx proxying with a static Authorization header · tokenbroker agent
# The upstream is nginx answering a small static 200. The agent gets real tokens from a local
# `tokenbroker serve`; only the proxying is measured (tokens are cached, as in production).
# Also reports the agent's idle RSS (after start-up and its first token) and its RSS under load.
# Loopback only; each load run is bounded by DURATION and stops by itself.
# Needs: wrk and nginx (Debian: apt-get install -y wrk nginx-light).
# Usage: bench/agent_proxy.sh            (DURATION=10s CONNECTIONS=50 by default)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-50}
AUDIENCE=https://api.dev.entur.io
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pidfile in "$work"/upstream.pid "$work"/proxy.pid; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

for tool in wrk nginx curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install -y wrk nginx-light curl python3" >&2; exit 2; }
done
cargo build --release --locked -q -p tokenbroker-cli
bin=target/release/tokenbroker

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # url
  for _ in $(seq 1 100); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "server at $1 did not come up" >&2; exit 1
}
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

declare -A RPS P99
load() { # name url [connections threads script]
  local out script=()
  [ -n "${5:-}" ] && script=(-s "$5")
  out=$(wrk -t"${4:-2}" -c"${3:-$CONNECTIONS}" -d"$DURATION" --latency "${script[@]}" "$2")
  if grep -q "Non-2xx" <<<"$out"; then echo "$1: some requests failed:" >&2; echo "$out" >&2; exit 1; fi
  RPS[$1]=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  P99[$1]=$(awk '$1=="99%" {print $2}' <<<"$out")
  printf '%-34s %12s req/s   p99 %s\n' "$1" "${RPS[$1]}" "${P99[$1]}"
}

# Two separate nginx instances: the upstream (static 200) and a proxy to it with a static
# Authorization header. Separate processes matter: one nginx serving both roles would proxy to
# itself, often within one worker, and skip the cross-process hop the agent has to make.
upstream_port=$(free_port)
nginx_proxy_port=$(free_port)
nginx_conf() { # name server-block
  mkdir -p "$work/$1"
  cat >"$work/$1.conf" <<CONF
worker_processes auto;
pid $work/$1.pid;
error_log $work/$1/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/$1; proxy_temp_path $work/$1;
  fastcgi_temp_path $work/$1; uwsgi_temp_path $work/$1; scgi_temp_path $work/$1;
  keepalive_requests 1000000;
  $2
}
CONF
  nginx -c "$work/$1.conf" -p "$work/$1"
}
nginx_conf upstream "server {
    listen 127.0.0.1:$upstream_port;
    location / { default_type application/json; return 200 '{\"programs\":[1,2,3]}'; }
  }"
nginx_conf proxy "upstream api { server 127.0.0.1:$upstream_port; keepalive 64; }
  server {
    listen 127.0.0.1:$nginx_proxy_port;
    location / {
      proxy_pass http://api;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_set_header Authorization \"Bearer static-token-for-the-benchmark\";
      proxy_set_header ET-Client-Name \"acme-bench\";
    }
  }"
wait_for "http://127.0.0.1:$upstream_port/"

# The authorization server and a client for the agent.
data=$work/as
created=$("$bin" clients --data-dir "$data" create --name bench --audience "$AUDIENCE" --json)
client_id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])' <<<"$created")
export BENCH_SECRET
BENCH_SECRET=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])' <<<"$created")
as_port=$(free_port)
"$bin" serve --data-dir "$data" --listen "127.0.0.1:$as_port" >/dev/null 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$as_port/healthz"

agent_port=$(free_port)
cat >"$work/tokenbroker.toml" <<CONF
[profiles.bench]
token_url = "http://127.0.0.1:$as_port/oauth2/token"
auth_style = "basic"
client_id = "$client_id"
client_secret_env = "BENCH_SECRET"
audience = "$AUDIENCE"
client_name = "acme-bench"

[agent]
listen = "127.0.0.1:$agent_port"
[[agent.upstreams]]
name = "api"
profile = "bench"
base_url = "http://127.0.0.1:$upstream_port"
CONF
"$bin" agent --config "$work/tokenbroker.toml" >/dev/null 2>&1 &
agent_pid=$!
pids+=($agent_pid)
wait_for "http://127.0.0.1:$agent_port/readyz"
curl -fsS -o /dev/null "http://127.0.0.1:$agent_port/api/warm-up"
sleep 1
idle_rss=$(rss_kib "$agent_pid")

echo "$CONNECTIONS connections, $DURATION each, $(nproc) cores, loopback; upstream: nginx static 200"
load "direct to the upstream" "http://127.0.0.1:$upstream_port/personalisation/v1/programs/1"
load "nginx proxy, static header" "http://127.0.0.1:$nginx_proxy_port/personalisation/v1/programs/1"
load "tokenbroker agent" "http://127.0.0.1:$agent_port/api/personalisation/v1/programs/1"
loaded_rss=$(rss_kib "$agent_pid")
# Flat out, every server above runs saturated, so its p99 is mostly queueing. The latency a proxy
# adds shows at a paced load: the same 50 connections, each waiting 5 ms between requests.
echo "50 connections paced (bench/paced.lua: ~10,000 requests/s), $DURATION each"
load "direct, paced" "http://127.0.0.1:$upstream_port/personalisation/v1/programs/1" "$CONNECTIONS" 2 bench/paced.lua
load "nginx proxy, paced" "http://127.0.0.1:$nginx_proxy_port/personalisation/v1/programs/1" "$CONNECTIONS" 2 bench/paced.lua
load "agent, paced" "http://127.0.0.1:$agent_port/api/personalisation/v1/programs/1" "$CONNECTIONS" 2 bench/paced.lua

python3 - "${RPS[tokenbroker agent]}" "${RPS[nginx proxy, static header]}" \
  "${P99[tokenbroker agent]}" "${P99[direct to the upstream]}" "${P99[nginx proxy, static header]}" \
  "$idle_rss" "$loaded_rss" \
  "${P99[agent, paced]}" "${P99[direct, paced]}" "${P99[nginx proxy, paced]}" <<'PY'
import sys
def ms(text):
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    raise ValueError(text)
agent, nginx = float(sys.argv[1]), float(sys.argv[2])
agent_p99, direct_p99, nginx_p99 = (ms(a) for a in sys.argv[3:6])
idle, loaded = int(sys.argv[6]) / 1024, int(sys.argv[7]) / 1024
print(f"agent / nginx throughput: {agent / nginx:.2f}x   (target >= 0.8x)")
print(f"50 connections flat out: agent p99 {agent_p99:.2f} ms, {agent_p99 - direct_p99:+.2f} ms over direct (saturated: queueing); nginx {nginx_p99 - direct_p99:+.2f} ms")
paced_agent, paced_direct, paced_nginx = (ms(a) for a in sys.argv[8:11])
print(f"50 connections paced: agent adds {paced_agent - paced_direct:+.3f} ms p99 over direct (target <= +1 ms); nginx {paced_nginx - paced_direct:+.3f} ms")
print(f"agent RSS: idle {idle:.1f} MiB (target <= 20 MiB), after load {loaded:.1f} MiB")
PY
