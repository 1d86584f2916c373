# Helpers the side-by-side scripts share; sourced after `cd` to the repository root.

# Builds the release binary once (a no-op when it is current) and names it.
cargo build --release --locked -q -p tokenbroker-cli
bin=target/release/tokenbroker

# A free loopback port.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Waits (at most 10 s) until URL answers 2xx.
wait_for() { # url
  for _ in $(seq 1 100); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "server at $1 did not come up" >&2; exit 1
}
