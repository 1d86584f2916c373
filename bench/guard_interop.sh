#!/usr/bin/env bash
# The guard validates JWTs from an issuer nobody here wrote: oauth2-mock-server 8 (npm, Node 20).
# Discovery (it publishes only OpenID discovery), its JWKS, its RS256 tokens; then a tampered
# token and a token for another audience must be refused. Loopback only.
# Needs node + npm. Usage: bench/guard_interop.sh
set -euo pipefail
cd "$(dirname "$0")/.."

audience=https://api.dev.entur.io
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

command -v node >/dev/null || { echo "node is missing" >&2; exit 2; }
cargo build --release --locked -q -p tokenbroker-guard --example validate
validate=target/release/examples/validate

cp -r bench/oauth2-mock-server "$work/issuer"
(cd "$work/issuer" && npm install --silent --no-audit --no-fund >/dev/null 2>&1)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$work/issuer" && PORT=$port node server.mjs >/dev/null 2>&1) &
pid=$!
issuer=http://localhost:$port
for _ in $(seq 1 100); do curl -fsS -o /dev/null "$issuer/jwks" 2>/dev/null && break; sleep 0.1; done

token_for() { # audience
  curl -fsS -u client:secret -d "grant_type=client_credentials&scope=personalisation:read&resource=$1" "$issuer/token" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

expect() { # name expected-exit token
  local out status=0
  out=$("$validate" "$issuer" "$audience" <<<"$3") || status=$?
  if [ "$status" != "$2" ]; then echo "FAIL $1: exit $status: $out" >&2; exit 1; fi
  printf '%-32s %s\n' "$1" "$out"
}

good=$(token_for "$audience")
expect "oauth2-mock-server token" 0 "$good"
tampered=$(python3 - "$good" <<'PY'
import base64, json, sys
header, payload, signature = sys.argv[1].split(".")
claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
claims["scope"] = "admin"
print(".".join([header, base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("="), signature]))
PY
)
expect "tampered claims" 1 "$tampered"
expect "token for another API" 1 "$(token_for https://api.other.example)"
echo "guard interop with oauth2-mock-server: ok"
