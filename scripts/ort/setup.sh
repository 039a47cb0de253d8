#!/usr/bin/env bash
# Installs ONNX Runtime for node (the CPU oracle used by ort_run.js) into
# scripts/ort/node_modules. Idempotent; never needed to build or test the C++.
# ONNXRUNTIME_NODE_INSTALL=skip skips the package's GPU-library download,
# which cannot succeed offline; the CPU library ships inside the package.
set -euo pipefail
cd "$(dirname "$0")"
# One install at a time: the tests that need ONNX Runtime run in parallel
# and each calls this; a second `npm ci` would delete the first one's
# node_modules mid-install (seen as a skipped test in CI). The waiter then
# finds the package installed.
if command -v flock >/dev/null; then
  exec 9>.setup.lock
  flock 9
fi
if [[ -d node_modules/onnxruntime-node ]]; then
  echo "ort setup: onnxruntime-node already installed"
  exit 0
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "ort setup: node/npm not found; skipping ONNX Runtime (install nodejs and npm to use scripts/ort)"
  exit 0
fi
if [[ -f package-lock.json ]]; then
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
else
  ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund onnxruntime-node@1.30.0
fi
node -e "require('onnxruntime-node'); console.log('ort setup: onnxruntime-node', require('onnxruntime-node/package.json').version, 'ready')"
