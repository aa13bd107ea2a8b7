#!/usr/bin/env bash
# Fuzzes every parser a buyer's bytes reach (fuzz/fuzz_targets/edge.rs) for N seconds (default 30) with
# cargo-fuzz (libFuzzer) on the nightly toolchain. test.sh runs it briefly; run it longer by hand:
#   ./scripts/fuzz.sh 600
# A crash leaves its input in fuzz/artifacts/edge/ and fails. Without a nightly toolchain it says so and
# stops (the property tests in tests/gateway/parsers.rs run the same parsers on stable).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${1:-30}"
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: skipped: no nightly toolchain (rustup toolchain install nightly)" >&2
  exit 0
fi
if ! command -v cargo-fuzz >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo-fuzz" ]; then
  echo "fuzz: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked --version 0.13.2 -q
fi
# Safe Rust needs no AddressSanitizer: coverage-guided search for panics is what this is for. The seed
# corpus is the repository's; what the fuzzer adds goes to a scratch copy.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp corpus/edge/* "$work/"
set +e
cargo +nightly fuzz run edge --sanitizer none "$work" -- -max_total_time="$secs" -max_len=4096 >"$work.log" 2>&1
status=$?
set -e
grep -E "^Done [0-9]+ runs|panicked|SUMMARY|Test unit written|^error" "$work.log" || true
if [ "$status" -ne 0 ]; then
  tail -n 40 "$work.log" >&2
  rm -f "$work.log"
  echo "fuzz: the edge target failed (a crash's input is in fuzz/artifacts/edge/)" >&2
  exit "$status"
fi
rm -f "$work.log"
echo "fuzz: edge target ran ${secs} s without a failure"
