#!/usr/bin/env bash
# The failed-authentication limiter in fixed memory: RSS of `tokenbroker serve` before and after
# N failed token requests (Basic authentication) with client ids of ID_BYTES bytes, all from one
# address, then again after N more from 50 other loopback addresses with fresh ids.
# Before the limiter kept hashed keys, each failure stored the presented id: 600 failures with
# 250 KB ids took the server from 14 MB to 48 MB. Ids past the wire bound are now refused (400)
# before any lookup, so the script also sends ids just under the bound, which are counted.
# Loopback only; bounded by N and stops by itself.
# Usage: bench/limiter_memory.sh        (N=600 ID_BYTES=250000 by default)
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-600}
ID_BYTES=${ID_BYTES:-250000}
work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for tool in curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is missing" >&2; exit 2; }
done
cargo build --release --locked -q -p tokenbroker-cli
bin=target/release/tokenbroker
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --data-dir "$work/data" --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }

flood() { # count id_bytes addresses
  python3 - "$port" "$1" "$2" "$3" <<'EOF'
import base64, http.client, random, string, sys
port, count, id_bytes, addresses = (int(a) for a in sys.argv[1:5])
statuses = {}
for n in range(count):
    source = f"127.0.{1 + n % addresses // 250}.{2 + n % addresses % 250}"
    client_id = "".join(random.choices(string.ascii_lowercase, k=id_bytes))
    basic = base64.b64encode(f"{client_id}:guess".encode()).decode()
    connection = http.client.HTTPConnection("127.0.0.1", port, source_address=(source, 0), timeout=10)
    connection.request("POST", "/oauth2/token", body="grant_type=client_credentials",
                       headers={"Authorization": f"Basic {basic}",
                                "Content-Type": "application/x-www-form-urlencoded"})
    status = connection.getresponse().status
    statuses[status] = statuses.get(status, 0) + 1
    connection.close()
print(" ".join(f"{status}×{count}" for status, count in sorted(statuses.items())))
EOF
}

start=$(rss)
echo "RSS at start:                                   ${start} KiB"
echo "$N failures, ${ID_BYTES}-byte ids, one address:  $(flood "$N" "$ID_BYTES" 1)"
echo "RSS after:                                      $(rss) KiB"
echo "$N failures, 255-byte ids, 50 addresses:        $(flood "$N" 255 50)"
end=$(rss)
echo "RSS after:                                      ${end} KiB"
echo "growth: $(( (end - start) / 1024 )) MiB"
