#!/usr/bin/env bash
# Installs what Seatwise needs on Debian/Ubuntu, idempotently: quick when everything is already there.
# Used by run.sh and test.sh; safe to run by hand.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# redis-server/redis-tools: the local sandbox and the tests. WebKitGTK (+ libssl, pkg-config): building the
# console. xvfb, webkit2gtk-driver: the console's end-to-end test. dbus, gnome-keyring, libsecret-tools:
# the OS keyring (Secret Service) the console and its tests use. procps: pgrep in test.sh. chromium,
# chromium-driver: the waiting page's tests in a real (headless) browser. nginx, caddy: the venue's door
# in front of a booking site (started by the tests on free ports; their services are not enabled here).
# python3, php-cli, golang-go (and nodejs below): the pass checkers in integrations/ and their tests.
need_pkgs=(redis-server redis-tools libwebkit2gtk-4.1-dev libssl-dev pkg-config build-essential
           xvfb webkit2gtk-driver dbus gnome-keyring libsecret-tools procps chromium chromium-driver
           nginx caddy python3 php-cli golang-go)
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
  # The tests start nginx and Caddy themselves: the system services the packages enable (on :80) are not
  # ours to run; stop the ones installed just now.
  for svc in nginx caddy; do
    if [[ " ${missing[*]} " == *" $svc "* ]] && command -v systemctl >/dev/null 2>&1; then
      $sudo systemctl disable --now "$svc" >/dev/null 2>&1 || true
    fi
  done
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: Rust (cargo) is not installed; install it from https://rustup.rs and run this again" >&2
    exit 1
  fi
fi

# tauri-driver bridges WebDriver to the console's window in the end-to-end test (pinned 2.x).
if ! command -v tauri-driver >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
  echo "setup: installing tauri-driver" >&2
  cargo install tauri-driver --locked --version 2.0.4 -q
fi

# axe-core for the console's accessibility check (injected by the e2e test only), pinned by its lock file.
if [ ! -f "$here/tests/axe/node_modules/axe-core/axe.min.js" ]; then
  echo "setup: installing axe-core for the accessibility check" >&2
  npm ci --prefix "$here/tests/axe" --no-audit --no-fund --loglevel=error >/dev/null
fi

# The reference ably-js package for the tests, pinned by tests/ably-js/package-lock.json.
if [ ! -d "$here/tests/ably-js/node_modules/ably" ]; then
  echo "setup: installing the ably npm package for the tests" >&2
  npm ci --prefix "$here/tests/ably-js" --no-audit --no-fund --loglevel=error >/dev/null
fi

# The Tauri CLI (prebuilt, from npm) for scripts/package.sh and the package test, pinned by its lock file.
if [ ! -x "$here/packaging/node_modules/.bin/tauri" ]; then
  echo "setup: installing the Tauri CLI for packaging" >&2
  npm ci --prefix "$here/packaging" --no-audit --no-fund --loglevel=error >/dev/null
fi
