"""Compiled steps that honour the opt-in label guard (`kshim.config.enable_label_checks`).

`compile_checked_step` compiles a step as `ops.compile_step` does. While the guard is off (the default) each call
is the plain compiled step: nothing is added to it and nothing is read back. While it is on, calls go to a second
compiled version that also returns the values the step's code `report`-ed (`kshim.common.step_checks`), and
their checks run on the host after the step: one host sync per step. That version does not donate its
arguments, so a failed check leaves the model's variables as they were before the step.
"""

from kshim import config, ops
from kshim.common import step_checks


def compile_checked_step(fn, donate_argnums=(), jit_compile=None):
    plain = ops.compile_step(fn, donate_argnums=donate_argnums, jit_compile=jit_compile)
    checks = []
    compiled = []

    def with_reports(*args):
        with step_checks.collect() as found:
            out = fn(*args)
        checks[:] = [check for check, _ in found]
        return out, [values for _, values in found]

    def step(*args):
        if not config.label_checks_enabled():
            return plain(*args)
        if not compiled:
            compiled.append(ops.compile_step(with_reports, jit_compile=jit_compile))
        out, reported = compiled[0](*args)
        _judge(checks, reported)
        return out

    step.replayed = getattr(plain, "replayed", None)
    return step


def run_checked(fn, *args):
    """``fn(*args)`` run eagerly (a stateful step), with the guard's checks judged after it when it is on."""
    if not config.label_checks_enabled():
        return fn(*args)
    with step_checks.collect() as found:
        out = fn(*args)
    _judge([check for check, _ in found], [values for _, values in found])
    return out


def _judge(checks, reported):
    for check, values in zip(checks, reported):
        check(ops.convert_to_numpy(values))
