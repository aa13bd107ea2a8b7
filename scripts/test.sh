#!/usr/bin/env bash
# Runs every test: formatting and lint checks, then the whole workspace's tests (unit tests, the engine's
# lifecycle suite against a real redis-server each test starts on a free port, and the 3-master Redis
# Cluster suite). Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -q -- -D warnings
cargo test --workspace
