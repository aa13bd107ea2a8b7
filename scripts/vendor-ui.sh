#!/usr/bin/env bash
# Refreshes the console's vendored chart library (uPlot, MIT: small, no dependencies, made for time series)
# from the npm registry at the pinned version: `npm pack` checks the package against the registry's
# integrity hash. The files are committed so the console builds offline; run this only to change version.
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.6.32
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "uplot@$version" --silent >/dev/null && tar xzf "uplot-$version.tgz")
mkdir -p ui/vendor/uplot
cp "$tmp/package/dist/uPlot.esm.js" "$tmp/package/dist/uPlot.min.css" "$tmp/package/LICENSE" ui/vendor/uplot/
echo "uplot $version (npm), files: uPlot.esm.js uPlot.min.css LICENSE" > ui/vendor/uplot/VERSION
echo "vendored uplot $version into ui/vendor/uplot"
