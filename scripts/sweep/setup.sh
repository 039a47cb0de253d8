#!/usr/bin/env bash
# Installs the plotting packages of the sweep report (vega, vega-lite,
# vega-embed; exact versions pinned in package.json and package-lock.json)
# into scripts/sweep/node_modules from the npm registry. Idempotent; never
# needed to build or test the C++. Exit 0: installed (or already there).
# Exit 1: node/npm are missing or the install failed (e.g. offline).
set -euo pipefail
cd "$(dirname "$0")"
packages=(vega vega-lite vega-embed)

installed() {
  node -e '
    const want = require("./package.json").dependencies;
    for (const p of process.argv.slice(1)) {
      let got;
      try { got = require("./node_modules/" + p + "/package.json").version; } catch { process.exit(1); }
      if (got !== want[p]) process.exit(1);
    }' "${packages[@]}" 2>/dev/null
}

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "sweep setup: node/npm not found; install them (apt-get install nodejs npm) to make plots and the HTML page" >&2
  exit 1
fi
if installed; then
  echo "sweep setup: vega, vega-lite, vega-embed already installed"
  exit 0
fi
if ! npm ci --no-audit --no-fund --ignore-scripts; then
  echo "sweep setup: npm ci failed (no access to the npm registry?); plots and the HTML page need scripts/sweep/node_modules" >&2
  exit 1
fi
installed || { echo "sweep setup: installed packages do not match package.json" >&2; exit 1; }
node -e 'const v = p => require("./node_modules/" + p + "/package.json").version;
  console.log("sweep setup: vega", v("vega"), "vega-lite", v("vega-lite"), "vega-embed", v("vega-embed"), "ready")'
