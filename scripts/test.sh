#!/usr/bin/env bash
# Installs kshim with its test extras in .venv, then runs every unit test on both backends and the
# cross-backend conformance suite. Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh all,test
mkdir -p reports
status=0
# Two workers (the CI machine has 2 cores); a test file stays on one worker. Tests marked `slow` (the deepest
# application variants) are deselected: run them with `-m slow`.
parallel="-n 2 --dist loadfile"
for backend in jax torch; do
  echo "== unit tests, KSHIM_BACKEND=$backend"
  KSHIM_BACKEND=$backend .venv/bin/python -m pytest tests -q -p no:cacheprovider $parallel -m "not slow" \
    --junitxml="reports/tests-$backend.xml" || status=1
done
echo "== conformance (jax vs torch vs numpy)"
.venv/bin/python -m conformance --junit reports/conformance.xml --report reports/conformance.md || status=1
exit $status
