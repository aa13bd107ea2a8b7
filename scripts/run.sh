#!/usr/bin/env bash
# Runs Seatwise Queue Console, the desktop app. With no profile yet it offers the local sandbox (a local
# redis-server with demo shows and simulated buyers). Without a display it says so and points to the
# command line: `scripts/run.sh --cli` runs the terminal version of the sandbox (seatwise demo).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
if [ "${1:-}" = "--cli" ] || { [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; }; then
  cargo build --release -q -p seatwise-cli
  if [ "${1:-}" != "--cli" ]; then
    echo "No display found (DISPLAY and WAYLAND_DISPLAY are unset): the desktop console needs one." >&2
    echo "Running the command-line sandbox instead (seatwise demo); see target/release/seatwise --help." >&2
  else
    shift
  fi
  if [ -n "${SEATWISE_REDIS_URL:-}" ] || [ -n "${SEATWISE_REDIS_CLUSTER:-}" ] || [ -n "${SEATWISE_UPSTASH_URL:-}" ]; then
    exec target/release/seatwise monitor "$@"
  fi
  exec target/release/seatwise demo "$@"
fi
cargo build --release -q -p seatwise-console
exec target/release/seatwise-console
