#!/usr/bin/env bash
# Builds the console's installable Linux packages with the Tauri bundler, offline: a .deb (Debian, Ubuntu)
# and an .rpm (Fedora, RHEL, openSUSE), each with the app's icons in every size (16 to 512 px, from
# src-tauri/icons/icon.svg) and a desktop entry. The Tauri CLI is the npm package's prebuilt binary, pinned
# in packaging/package.json to the tauri crate's version, so no 15-minute `cargo install tauri-cli`.
#
# AppImage is left out: its bundler downloads linuxdeploy and its plugins from GitHub while bundling, and
# this project builds where only the package registries can be reached. macOS and Windows bundles come from
# .github/workflows/release.yml (tauri-action) on the venue's own CI.
#
#   scripts/package.sh           release build (optimised, the UI embedded), packages in
#                                target/release/bundle/{deb,rpm}/
#   scripts/package.sh --debug   packages the debug build already in target/debug (the tests' build; the
#                                package test uses this to share it), into target/debug/bundle/
#
# CARGO_TARGET_DIR is honoured. Prints the paths of the packages it made, one per line, last.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh >&2

tauri=packaging/node_modules/.bin/tauri
case "${1:-}" in
  "")
    "$tauri" build --bundles deb,rpm --ci >&2
    profile=release
    ;;
  --debug)
    # Bundles the binary as built: no patching in place (a test may be running it).
    "$tauri" bundle --debug --bundles deb,rpm --ci --no-sign --no-binary-patching >&2
    profile=debug
    ;;
  *)
    echo "usage: scripts/package.sh [--debug]" >&2
    exit 2
    ;;
esac
target="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' tauri.conf.json)"
ls -1 "$target/$profile/bundle/deb/"*"_${version}_"*.deb "$target/$profile/bundle/rpm/"*"-${version}-"*.rpm
