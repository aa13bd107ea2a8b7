#!/usr/bin/env bash
# Runs Seatwise. With no Redis configured (SEATWISE_REDIS_URL / SEATWISE_REDIS_CLUSTER unset) it starts the
# embedded default: a local redis-server (data in ~/.local/share/seatwise/sandbox), the demo shows opened,
# simulated buyers and the live monitor. With Redis configured it shows the live monitor of that Redis.
# Extra arguments go to `seatwise demo` (e.g. --duration 60).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release -q -p seatwise-cli
if [ -n "${SEATWISE_REDIS_URL:-}" ] || [ -n "${SEATWISE_REDIS_CLUSTER:-}" ]; then
  exec target/release/seatwise monitor "$@"
fi
exec target/release/seatwise demo "$@"
