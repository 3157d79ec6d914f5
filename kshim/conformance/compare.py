"""Comparing two arrays with a stated tolerance: the one comparison behind both conformance checks.

`compare_arrays` is used by the repository's conformance suite (``python -m conformance``) and by the check of
users' own models (``python -m kshim.conformance check``), so both give the same verdicts and numbers. It needs only
numpy.
"""

from dataclasses import dataclass

import numpy as np


@dataclass
class Diff:
    """The comparison of one output key: the largest differences and whether they are within tolerance."""

    max_abs: float = 0.0
    max_rel: float = 0.0
    ok: bool = True
    message: str = ""


def _fmt(v):
    return np.array2string(np.asarray(v), precision=9, threshold=8, edgeitems=3)


def compare_arrays(a, b, rtol=0.0, atol=0.0, exact=False, names=("a", "b")):
    """Compare two arrays: exact for integer/bool/string outputs or when ``exact``, else
    ``|a - b| <= atol + rtol * max(|a|, |b|)``. NaNs must sit at the same positions, infinities must match.
    Values are compared independent of dtype (int32 7 equals int64 7 equals float32 7.0)."""
    a, b = np.asarray(a), np.asarray(b)
    na, nb = names
    if a.dtype.kind in "USO" or b.dtype.kind in "USO":
        if a.dtype.kind != b.dtype.kind or a.shape != b.shape or not np.array_equal(a, b):
            return Diff(np.inf, np.inf, False, f"{_fmt(a)} on {na} vs {_fmt(b)} on {nb}")
        return Diff()
    if a.shape != b.shape:
        return Diff(np.inf, np.inf, False, f"shape {a.shape} on {na} vs {b.shape} on {nb}")
    if a.size == 0:
        return Diff()
    if a.dtype.kind == "c" or b.dtype.kind == "c":  # complex: the real and the imaginary parts, side by side
        a, b = (np.stack([v.real, v.imag], axis=-1) for v in (a, b))
    if a.dtype.kind in "biu" or b.dtype.kind in "biu":
        exact = True
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    nan_a, nan_b = np.isnan(a64), np.isnan(b64)
    if not np.array_equal(nan_a, nan_b):
        idx = tuple(int(i) for i in np.argwhere(nan_a != nan_b)[0])
        return Diff(np.nan, np.nan, False,
                    f"NaN at different positions, first at {idx}: {a64[idx]:.9g} on {na} vs {b64[idx]:.9g} on {nb}")
    inf = np.isinf(a64) | np.isinf(b64)
    if np.any(a64[inf] != b64[inf]):
        idx = tuple(int(i) for i in np.argwhere(inf & (a64 != b64))[0])
        return Diff(np.inf, np.inf, False,
                    f"infinity mismatch at {idx}: {a64[idx]:.9g} on {na} vs {b64[idx]:.9g} on {nb}")
    finite = ~(nan_a | inf)
    fa, fb = np.where(finite, a64, 0.0), np.where(finite, b64, 0.0)
    diff = np.abs(fa - fb)
    scale = np.maximum(np.abs(fa), np.abs(fb))
    rel = np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)
    max_abs, max_rel = float(diff.max()), float(rel.max())
    if exact:
        bad = diff > 0
        what = "not bit-identical"
    else:
        bad = diff > atol + rtol * scale
        what = f"beyond rtol={rtol:g} atol={atol:g}"
    if not bad.any():
        return Diff(max_abs, max_rel, True)
    worst = np.unravel_index(int(np.argmax(np.where(bad, diff - (atol + rtol * scale), -np.inf))), diff.shape)
    idx = tuple(int(i) for i in worst)
    return Diff(max_abs, max_rel, False,
                f"{int(bad.sum())} of {bad.size} values {what}; worst at {idx}: "
                f"{a64[idx]:.9g} on {na} vs {b64[idx]:.9g} on {nb} (abs diff {diff[idx]:.3g})")
