#!/usr/bin/env bash
# Installs kshim with its test extras in .venv, then runs every unit test on both backends and the
# cross-backend conformance suite. Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh all,test
mkdir -p reports
# Two pytest workers (or two conformance workers per backend) share the 2 cores: one compute thread per process,
# so the frameworks' thread pools do not fight over the cores (torch's spin-waiting threads cost a fifth of the
# torch pass's CPU time here). Tests that need several threads set them themselves.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MKL_NUM_THREADS="${MKL_NUM_THREADS:-1}"
# XLA on CPU compiles every new jitted function and every eager jax op at a new shape (~30 ms each); the tests compile
# thousands of small ones and run each only a few times. The first two flags cut that compile time by about a third (the
# conformance suite's jax worker: 398 s -> 212 s) and change no result the suites check. They apply to this script
# only (users' programs keep XLA's defaults), and are dropped if the installed jaxlib does not know them.
fast_xla="--xla_cpu_use_fusion_emitters=false --xla_backend_optimization_level=0"
fast_xla="$fast_xla --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"  # one thread, as above
if XLA_FLAGS="$fast_xla" .venv/bin/python -c "import jax.numpy as jnp; (jnp.ones(2) + 1).block_until_ready()" \
    >/dev/null 2>&1; then
  export XLA_FLAGS="${XLA_FLAGS:+$XLA_FLAGS }$fast_xla"
fi
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
