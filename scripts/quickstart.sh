#!/usr/bin/env bash
# Installs kshim in .venv and trains the quickstart model on both backends.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh all
for backend in jax torch; do
  echo "== KSHIM_BACKEND=$backend"
  KSHIM_BACKEND=$backend .venv/bin/python examples/quickstart.py
done
