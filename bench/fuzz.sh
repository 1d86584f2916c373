#!/usr/bin/env bash
# Fuzzes every parser of outside input (the targets in fuzz/fuzz_targets) with libFuzzer, one
# target after another, each until RUNS executions or SECONDS_PER_TARGET seconds, whichever comes
# first, and prints a table: target, executions, seconds, executions per second, result.
# A crash stops that target; its input is kept in fuzz/artifacts/<target>/ (reproduce with
# `cargo +nightly fuzz run <target> <file>`), and the script exits 1 at the end.
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Not part of .ci/run.
# Usage: bench/fuzz.sh [TARGET...]       (RUNS=10000000 SECONDS_PER_TARGET=900 by default)
# SANITIZER=address adds AddressSanitizer (about 2-3x slower); the default, none, still stops on
# every panic and failed assertion, which is what safe Rust parsers can do wrong.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

RUNS=${RUNS:-10000000}
SECONDS_PER_TARGET=${SECONDS_PER_TARGET:-900}
# Inputs larger than any bound the parsers enforce teach the fuzzer nothing new.
MAX_LEN=${MAX_LEN:-8192}
SANITIZER=${SANITIZER:-none}

command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2; exit 2; }
targets=("$@")
((${#targets[@]})) || mapfile -t targets < <(cargo +nightly fuzz list)

cargo +nightly fuzz build -O -s "$SANITIZER" >/dev/null
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
failed=0
printf '%-16s %12s %8s %10s  %s\n' target executions seconds 'execs/s' result
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  start=$(date +%s)
  if cargo +nightly fuzz run -O -s "$SANITIZER" "$target" "corpus/$target" -- \
      -runs="$RUNS" -max_total_time="$SECONDS_PER_TARGET" -max_len="$MAX_LEN" \
      -rss_limit_mb=2048 -print_final_stats=1 >"$log/$target" 2>&1; then
    result=ok
  else
    result="CRASH (see fuzz/artifacts/$target)"
    failed=1
  fi
  seconds=$(( $(date +%s) - start ))
  # libFuzzer's final stats: "stat::number_of_executed_units: N".
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log/$target" | grep -o '[0-9]*$' || echo 0)
  printf '%-16s %12s %8s %10s  %s\n' "$target" "$runs" "$seconds" "$(( runs / (seconds > 0 ? seconds : 1) ))" "$result"
  [ "$result" = ok ] || tail -30 "$log/$target" >&2
done
exit "$failed"
