#!/usr/bin/env bash
# Runs every test: formatting and lint checks, then the whole workspace's tests: the engine's suite against
# a real redis-server each test starts on a free port, a real 3-master Redis Cluster, the Ably client and
# worker against the Ably stand-in, the CLI (with ably-js as the reference for token requests), the
# console's commands with the real OS keyring, and the console end to end in its real window under Xvfb
# through WebDriver; then the buyer edge's fuzz target briefly. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -q -- -D warnings

# A private D-Bus session with its own unlocked gnome-keyring, so no test ever touches a real keyring.
private="$(mktemp -d)"
mkdir -p -m 700 "$private/runtime" "$private/data"
before="$(pgrep -x gnome-keyring-d || true)"
cleanup() {
  for pid in $(pgrep -x gnome-keyring-d || true); do
    grep -qx "$pid" <<<"$before" || kill "$pid" 2>/dev/null || true
  done
  rm -rf "$private"
}
trap cleanup EXIT
set +e
XDG_DATA_HOME="$private/data" XDG_RUNTIME_DIR="$private/runtime" dbus-run-session -- bash -c '
  eval "$(printf seatwise-test | gnome-keyring-daemon --unlock --components=secrets)"
  export GNOME_KEYRING_CONTROL
  cargo test --workspace --all-targets
' 2>&1 | grep --line-buffered -v -e "^dbus-daemon\[" -e "SpiRegistry daemon" | tee "$private/test.log"
status=${PIPESTATUS[0]}
set -e
# The buyer edge's parsers under a coverage-guided fuzzer for a short while (longer: ./scripts/fuzz.sh 600).
if [ "$status" -eq 0 ]; then
  ./scripts/fuzz.sh 20 || status=$?
fi
# One closing line with the totals of every test binary.
awk '/^test result:/ { p += $4; f += $6 } END { printf "all tests: %d passed, %d failed\n", p, f }' "$private/test.log"
exit "$status"
