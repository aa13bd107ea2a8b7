#!/usr/bin/env bash
# Installs what Seatwise needs on Debian/Ubuntu, idempotently: quick when everything is already there.
# Used by run.sh and test.sh; safe to run by hand.
set -euo pipefail

need_pkgs=(redis-server redis-tools)
missing=()
for p in "${need_pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
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
