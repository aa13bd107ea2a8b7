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
# Safe Rust needs no AddressSanitizer: coverage-guided search for panics is what this is for.
run=(cargo +nightly fuzz run edge --sanitizer none corpus/edge -- -max_total_time="$secs" -max_len=4096)
# The seed corpus is the repository's; what the fuzzer adds goes to a scratch copy.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp corpus/edge/* "$work/"
run[6]="$work"
"${run[@]}" 2>&1 | grep -E "^(Done|INFO: -max_total_time|==|SUMMARY|thread|panicked)|Test unit written|#[0-9]+ *DONE" || true
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
  echo "fuzz: the edge target found a failure (input in fuzz/artifacts/edge/)" >&2
  exit "$status"
fi
echo "fuzz: edge target ran ${secs} s without a failure"
