"""Checks a compiled step reports, for the host to judge after the step ran (the opt-in label guard).

A compiled step (``jax.jit``, the torch replay) cannot raise on a value it computes without a host sync. So code
inside a step that wants a value checked (a sparse loss, for its labels) calls `report` with a host-side check
and the tensors it needs; the trainer runs the step inside `collect`, returns the reported tensors beside the
step's results, and calls each check on their numpy values after the step. The checks are recorded while the
step's Python runs (once per trace on jax, on every eager or recorded call on torch); a compiled call returns
the same tensors in the same order.
"""

_COLLECTING = []


def collecting():
    """True inside `collect`: a step is being run or traced for checks."""
    return bool(_COLLECTING)


class collect:
    """``with collect() as found:`` gathers ``(check, values)`` pairs `report`-ed by the code run inside."""

    def __enter__(self):
        self.found = []
        _COLLECTING.append(self.found)
        return self.found

    def __exit__(self, *exc):
        _COLLECTING.pop()
        return False


def report(check, values):
    """Ask for ``check(numpy values)`` to run on the host after the step (only while `collecting`)."""
    if _COLLECTING:
        _COLLECTING[-1].append((check, values))
