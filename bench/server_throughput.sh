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
. bench/lib.sh   # $work, $pids, free_port, wait_for, start_serve, token_load, …
need_wrk
build_release

report() { # name
  printf '%-28s %12s tokens/s   p99 %s ms\n' "$1" "$rps" "$p99_ms"
}

tokenbroker() { # algorithm
  start_serve "$bin" "$1"
  token_load "$serve_url/oauth2/token" "$serve_basic" "$CONNECTIONS" "$DURATION"
  report "tokenbroker serve ($1)"
  stop_serve
}

oidc_provider() {
  local dir=$work/oidc-provider port secret=bench-secret-0123456789
  cp -r bench/oidc-provider "$dir"
  (cd "$dir" && npm install --silent --no-audit --no-fund >/dev/null 2>&1)
  port=$(free_port)
  (cd "$dir" && PORT=$port CLIENT_SECRET=$secret node server.mjs >/dev/null 2>&1) &
  pids+=($!)
  wait_for "http://127.0.0.1:$port/.well-known/openid-configuration"
  token_load "http://127.0.0.1:$port/token" "$(printf 'bench:%s' "$secret" | base64 -w0)" "$CONNECTIONS" "$DURATION"
  report "oidc-provider 8 (RS256)"
}

echo "token endpoint, $CONNECTIONS connections, $DURATION each, $(nproc) cores, loopback"
tokenbroker rs256
tokenbroker es256
if command -v node >/dev/null; then oidc_provider; else echo "node is missing: oidc-provider skipped" >&2; fi
echo "raw single-process signing rate: cargo bench -p tokenbroker-server --bench signing"
