#!/usr/bin/env bash
# Creates .venv (if missing) and installs kshim with both backends. Usage: scripts/setup_env.sh [extras]
# torch is pinned to the CPU build first: an unpinned torch would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-all}"
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[${extras}]"
# Graphviz (`dot`) lets `plot_model` write PNG/PDF; optional: only as root with apt, and never fails the setup.
if ! command -v dot >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  timeout 300 apt-get install -y -q graphviz >/dev/null 2>&1 || echo "note: graphviz not installed; plot_model can still write .svg"
fi
