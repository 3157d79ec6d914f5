"""Cross-backend conformance for your own models: do jax and torch give the same numbers?

    python -m kshim.conformance check my_project.models:build_model --data my_project.data:sample --junit out.xml

or, in Python, `check` (one model) and `run_checks` (several, one process per backend for all of them), and
`kshim.testing.assert_backends_agree` in a pytest test. `compare_arrays` is the comparison behind these and the
repository's own conformance suite. The per-backend work happens in `kshim.conformance.worker` processes.
"""

from kshim.conformance.agreement import DEFAULT_TOLERANCES, CheckResult, KeyResult, check, run_checks
from kshim.conformance.compare import Diff, compare_arrays

__all__ = ["check", "run_checks", "CheckResult", "KeyResult", "DEFAULT_TOLERANCES", "compare_arrays", "Diff"]
