#!/usr/bin/env bash
# Requests/s and p99 at 50 connections, side by side in one run:
#   direct to the upstream · nginx proxying with a static Authorization header · tokenbroker agent
# The upstream is nginx answering a small static 200. The agent gets real tokens from a local
# `tokenbroker serve`; only the proxying is measured (tokens are cached, as in production).
# Also reports the agent's idle RSS (after start-up and its first token) and its RSS under load.
# Loopback only; each load run is bounded by DURATION and stops by itself.
# Needs: wrk and nginx (Debian: apt-get install -y wrk nginx-light).
# The three take turns for ROUNDS rounds and the summary uses each one's median, because on a
# small shared machine one run can differ from the next by 20 %.
# Usage: bench/agent_proxy.sh            (DURATION=10s CONNECTIONS=50 ROUNDS=3 by default)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-50}
for tool in wrk nginx curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install -y wrk nginx-light curl python3" >&2; exit 2; }
done
. bench/lib.sh   # $work, $pids, free_port, wait_for, start_serve, …
cleanup_more() {
  for pidfile in "$work"/upstream.pid "$work"/proxy.pid; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
}
build_release

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

load() { # name url [connections threads script]: one run, appended to $work/results
  local out script=() rps p99
  [ -n "${5:-}" ] && script=(-s "$5")
  out=$(wrk -t"${4:-2}" -c"${3:-$CONNECTIONS}" -d"$DURATION" --latency "${script[@]}" "$2")
  if grep -q "Non-2xx" <<<"$out"; then echo "$1: some requests failed:" >&2; echo "$out" >&2; exit 1; fi
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  printf '%-34s %12s req/s   p99 %s\n' "$1" "$rps" "$p99"
  printf '%s\t%s\t%s\n' "$1" "$rps" "$p99" >>"$work/results"
}

# Two separate nginx instances: the upstream (static 200) and, further down, a proxy to it with a
# static Authorization header. Separate processes matter: one nginx serving both roles would
# proxy to itself, often within one worker, and skip the cross-process hop the agent has to make.
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
wait_for "http://127.0.0.1:$upstream_port/"

# The authorization server and a client for the agent.
data=$work/as
created=$("$bin" clients --data-dir "$data" create --name bench --audience "$AUDIENCE" --json)
client_id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])' <<<"$created")
export BENCH_SECRET
BENCH_SECRET=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])' <<<"$created")
as_port=$(free_port)
# Every server runs in a session of its own, as a service manager would start it. With the
# kernel's autogroup scheduling (/proc/sys/kernel/sched_autogroup_enabled), the processes of one
# session share one CPU share: started plainly from this script, the agent would share wrk's
# while nginx, which daemonizes, gets its own. Measured here, that alone cost the agent ~25 %.
setsid "$bin" serve --data-dir "$data" --listen "127.0.0.1:$as_port" >/dev/null 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$as_port/healthz"

agent_port=$(free_port)
agent_config "http://127.0.0.1:$as_port/oauth2/token" "$client_id" "$agent_port" \
  "http://127.0.0.1:$upstream_port" >"$work/tokenbroker.toml"
# Without its access line, as nginx runs here with `access_log off`: like against like. The line
# (formatted, then one write to stderr per request) costs the agent about a tenth of its
# throughput: two runs back to back here, 3 rounds each, gave 40,201 requests/s with it and
# 44,550 without (nginx: 53,078 and 52,741).
RUST_LOG=$AGENT_LOG setsid "$bin" agent --config "$work/tokenbroker.toml" >/dev/null 2>&1 &
agent_pid=$!
pids+=($agent_pid)
wait_for "http://127.0.0.1:$agent_port/readyz"
curl -fsS -o /dev/null "http://127.0.0.1:$agent_port/api/warm-up"

# nginx gets a static header of the same size as the agent's: a real token from the same AS
# (a JWT of ~740 bytes, not a 30-byte placeholder), so both send the upstream the same bytes.
token=$(curl -fsS "http://127.0.0.1:$agent_port/v1/token/bench" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
nginx_conf proxy "upstream api { server 127.0.0.1:$upstream_port; keepalive 64; }
  server {
    listen 127.0.0.1:$nginx_proxy_port;
    location / {
      proxy_pass http://api;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_set_header Authorization \"Bearer $token\";
      proxy_set_header ET-Client-Name \"acme-bench\";
    }
  }"
wait_for "http://127.0.0.1:$nginx_proxy_port/"
sleep 1
idle_rss=$(rss_kib "$agent_pid")

direct=http://127.0.0.1:$upstream_port/personalisation/v1/programs/1
nginx=http://127.0.0.1:$nginx_proxy_port/personalisation/v1/programs/1
agent=http://127.0.0.1:$agent_port/api/personalisation/v1/programs/1
echo "$CONNECTIONS connections, $DURATION each, $ROUNDS rounds, $(nproc) cores, loopback; upstream: nginx static 200"
for round in $(seq "$ROUNDS"); do
  echo "round $round"
  load "direct" "$direct"
  load "nginx proxy" "$nginx"
  load "agent" "$agent"
done
loaded_rss=$(rss_kib "$agent_pid")
# Flat out, every server above runs saturated, so its p99 is mostly queueing. The latency a proxy
# adds shows at a paced load: the same connections, each waiting 5 ms between requests.
echo "$CONNECTIONS connections paced (bench/paced.lua: ~10,000 requests/s), $DURATION each"
for round in $(seq "$ROUNDS"); do
  echo "round $round"
  load "direct, paced" "$direct" "$CONNECTIONS" 2 bench/paced.lua
  load "nginx proxy, paced" "$nginx" "$CONNECTIONS" 2 bench/paced.lua
  load "agent, paced" "$agent" "$CONNECTIONS" 2 bench/paced.lua
done

python3 - "$work/results" "$idle_rss" "$loaded_rss" <<'PY'
import statistics, sys
def ms(text):
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    raise ValueError(text)
runs = {}
for line in open(sys.argv[1]):
    name, rps, p99 = line.rstrip("\n").split("\t")
    runs.setdefault(name, []).append((float(rps), ms(p99)))
rps = {name: statistics.median(r for r, _ in results) for name, results in runs.items()}
p99 = {name: statistics.median(p for _, p in results) for name, results in runs.items()}
print("medians:")
for name in runs:
    print(f"  {name:<20} {rps[name]:>10,.0f} req/s   p99 {p99[name]:.2f} ms")
ratio = rps["agent"] / rps["nginx proxy"]
print(f"agent / nginx throughput: {ratio:.2f}x   (target >= 0.8x)")
print(f"flat out: agent p99 {p99['agent'] - p99['direct']:+.2f} ms over direct (saturated: queueing); nginx {p99['nginx proxy'] - p99['direct']:+.2f} ms")
print(f"paced: agent adds {p99['agent, paced'] - p99['direct, paced']:+.3f} ms p99 over direct (target <= +1 ms); nginx {p99['nginx proxy, paced'] - p99['direct, paced']:+.3f} ms")
idle, loaded = int(sys.argv[2]) / 1024, int(sys.argv[3]) / 1024
print(f"agent RSS: idle {idle:.1f} MiB (target <= 20 MiB), after load {loaded:.1f} MiB")
PY
