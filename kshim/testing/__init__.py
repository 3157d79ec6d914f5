"""Test helpers for kshim users.

`assert_backends_agree` runs your model on every installed backend (each in its own process, from one seed) and
fails with the first layer where they diverge:

    from kshim.testing import assert_backends_agree
    from my_project.models import build_model

    def test_model_agrees_across_backends():
        x, y = sample()
        assert_backends_agree(build_model, x, y, steps=3)

It needs two backends installed; with fewer it skips the test under pytest (``skip_missing=True``) or raises.
"""

from kshim.conformance import agreement as _check
from kshim.conformance import report as _report


def assert_backends_agree(build_fn, x, y=None, steps=3, seed=1337, rtol=None, atol=None, tolerances=None,
                          backends=None, skip_missing=True, timeout=600):
    """Assert that ``build_fn()`` gives the same model, layer outputs, gradients and ``steps`` training steps on
    every backend. ``build_fn`` is a module-level function (or a 'package.module:function' string), ``x``/``y``
    one batch of numpy data (``y=None``: zero targets). Tolerances: see `kshim.conformance.agreement`. Returns the
    `CheckResult`; raises ``AssertionError`` with the report's table on disagreement."""
    if skip_missing and len(_check.installed_backends()) < 2:
        import pytest  # only here: skipping needs pytest, the helper does not otherwise

        pytest.skip(f"assert_backends_agree needs two backends; installed: {_check.installed_backends()}")
    result = _check.check(build_fn, x=x, y=y, steps=steps, seed=seed, rtol=rtol, atol=atol, tolerances=tolerances,
                          backends=backends, timeout=timeout)
    if not result.ok:
        raise AssertionError(result.summary() + "\n\n" + _report.format_text(result))
    return result


__all__ = ["assert_backends_agree"]
