#!/usr/bin/env bash
# Installs what Seatwise needs on Debian/Ubuntu, idempotently: quick when everything is already there.
# Used by run.sh and test.sh; safe to run by hand.
set -euo pipefail

need_pkgs=(redis-server redis-tools)
missing=()
for p in "${need_pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# Node.js runs the reference Ably client (ably-js) the token tests compare against.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: Rust (cargo) is not installed; install it from https://rustup.rs and run this again" >&2
    exit 1
  fi
fi

# The reference ably-js package for the tests, pinned by tests/ably-js/package-lock.json.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ ! -d "$here/tests/ably-js/node_modules/ably" ]; then
  echo "setup: installing the ably npm package for the tests" >&2
  npm ci --prefix "$here/tests/ably-js" --no-audit --no-fund --loglevel=error >/dev/null
fi
